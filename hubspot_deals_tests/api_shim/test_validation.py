"""Every documented validation rule, malformed input, error envelopes, rate limits, docs.

The shim here points at a Dagster that is not running: input errors are answered before any
GraphQL call (400/404), and everything that would need Dagster gets a quick 503.
"""

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from hubspot_deals_tests.api_shim.conftest import (
    CONTROL_CHARACTERS_MESSAGE,
    Shim,
    assert_nul_filters_are_400s,
    home_env,
    shim_env,
)
from hubspot_deals_tests.conftest import fake_token

TOKEN = fake_token()


def valid_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "scanId": "scan-1",
        "organizationId": "org-1",
        "type": ["user"],
        "auth": {"accessToken": TOKEN},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def shim(module_dir: Path, clean_env: None) -> Iterator[Shim]:
    with Shim(shim_env(None, home_env(module_dir), open_access="true"), module_dir) as running:
        yield running


@pytest.fixture(scope="module")
def limited_shim(module_dir: Path, clean_env: None) -> Iterator[Shim]:
    env = shim_env(
        None,
        home_env(module_dir),
        open_access="true",
        rate_limit_health="3/minute",
        rate_limit_scan="2/hour",
    )
    with Shim(env, module_dir, name="limited-shim") as running:
        yield running


def assert_validation(response: Any, expected: dict[str, Any], prefix: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    message = f"{prefix}: {expected}"
    assert body == {
        "success": False,
        "message": message,
        "error": message,
        "validation_errors": expected,
    }
    assert TOKEN not in response.text


SCAN_ID_RULE = "Scan ID must be 1-255 characters: letters, digits, hyphens and underscores only"

START_CASES = [
    pytest.param({}, {"config": ["Config is required"]}, id="no-config"),
    pytest.param({"config": "x"}, {"config": ["Config must be an object"]}, id="config-string"),
    pytest.param(
        {"config": {}},
        {
            "config": {
                "scanId": ["Scan ID is required"],
                "organizationId": ["Organization ID is required"],
                "type": ["Scan type is required"],
                "auth": ["Auth configuration is required"],
            }
        },
        id="empty-config",
    ),
    pytest.param(
        # The spec's own example of a validation error.
        {"config": {"organizationId": "org-1", "type": ["user"], "auth": {}}},
        {
            "config": {
                "scanId": ["Scan ID is required"],
                "auth": {"accessToken": ["Access token is required"]},
            }
        },
        id="spec-example",
    ),
    *[
        pytest.param(
            {"config": valid_config(scanId=bad)},
            {"config": {"scanId": [SCAN_ID_RULE]}},
            id=f"scan-id-{name}",
        )
        for name, bad in [
            ("empty", ""),
            ("space", "a b"),
            ("slash", "a/b"),
            ("dot", "a.b"),
            ("unicode", "scän"),
            ("256", "a" * 256),
        ]
    ],
    pytest.param(
        {"config": valid_config(scanId=123)},
        {"config": {"scanId": ["Scan ID must be a string"]}},
        id="scan-id-number",
    ),
    pytest.param(
        {"config": valid_config(organizationId="")},
        {"config": {"organizationId": ["Organization ID must be 1-255 characters"]}},
        id="org-empty",
    ),
    pytest.param(
        {"config": valid_config(organizationId="o" * 256)},
        {"config": {"organizationId": ["Organization ID must be 1-255 characters"]}},
        id="org-256",
    ),
    pytest.param(
        {"config": valid_config(organizationId=7)},
        {"config": {"organizationId": ["Organization ID must be a string"]}},
        id="org-number",
    ),
    *[
        pytest.param(
            {"config": valid_config(type=bad)},
            {"config": {"type": [message]}},
            id=f"type-{name}",
        )
        for name, bad, message in [
            ("empty", [], 'Scan type must be ["user"]'),
            ("other", ["admin"], 'Scan type must be ["user"]'),
            ("twice", ["user", "user"], 'Scan type must be ["user"]'),
            ("string", "user", 'Scan type must be a list: ["user"]'),
        ]
    ],
    pytest.param(
        {"config": valid_config(auth="token")},
        {"config": {"auth": ["Auth must be an object"]}},
        id="auth-string",
    ),
    pytest.param(
        {"config": valid_config(auth={"accessToken": "123456789"})},
        {"config": {"auth": {"accessToken": ["Access token must be 10-4096 characters"]}}},
        id="token-9-chars",
    ),
    pytest.param(
        {"config": valid_config(auth={"accessToken": 12345678901})},
        {"config": {"auth": {"accessToken": ["Access token must be a string"]}}},
        id="token-number",
    ),
    *[
        pytest.param(
            {"config": valid_config(auth={"accessToken": TOKEN, "tennantUrl": bad})},
            {
                "config": {
                    "auth": {"tennantUrl": ["Tenant URL must be a valid http:// or https:// URL"]}
                }
            },
            id=f"tenant-{name}",
        )
        for name, bad in [
            ("words", "not a url"),
            ("ftp", "ftp://app.hubspot.com"),
            ("no-host", "https://"),
            ("empty", ""),
        ]
    ],
    pytest.param(
        {"config": valid_config(filters="all")},
        {"config": {"filters": ["Filters must be an object"]}},
        id="filters-string",
    ),
    pytest.param(
        {"config": valid_config(filters={"properties": "dealname"})},
        {"config": {"filters": {"properties": ["Properties must be a list of strings"]}}},
        id="properties-string",
    ),
    pytest.param(
        {"config": valid_config(filters={"properties": ["dealname", 5]})},
        {"config": {"filters": {"properties": ["Properties must be a list of strings"]}}},
        id="properties-number-item",
    ),
    *[
        pytest.param(
            {"config": valid_config(filters={"includeArchived": bad})},
            {
                "config": {
                    "filters": {
                        "includeArchived": ["Include archived must be a boolean (true or false)"]
                    }
                }
            },
            id=f"include-archived-{name}",
        )
        for name, bad in [("string", "true"), ("number", 1), ("null", None)]
    ],
    *[
        pytest.param(
            {"config": valid_config(filters={"dateRange": {field: bad}})},
            {"config": {"filters": {"dateRange": {field: [message]}}}},
            id=f"{field}-{name}",
        )
        for field, label in [("startDate", "Start date"), ("endDate", "End date")]
        for name, bad, message in [
            (
                "month-13",
                "2024-13-01",
                f"{label} must be a real calendar date in YYYY-MM-DD format",
            ),
            ("feb-30", "2024-02-30", f"{label} must be a real calendar date in YYYY-MM-DD format"),
            ("slashes", "2024/01/01", f"{label} must be a real calendar date in YYYY-MM-DD format"),
            ("compact", "20240101", f"{label} must be a real calendar date in YYYY-MM-DD format"),
            (
                "time",
                "2024-01-01T00:00:00Z",
                f"{label} must be a real calendar date in YYYY-MM-DD format",
            ),
            ("number", 20240101, f"{label} must be a string in YYYY-MM-DD format"),
        ]
    ],  # fmt: skip
    pytest.param(
        {
            "config": valid_config(
                filters={"dateRange": {"startDate": "2024-12-31", "endDate": "2024-01-01"}}
            )
        },
        {"config": {"filters": {"dateRange": ["Start date must not be after end date"]}}},
        id="start-after-end",
    ),
    pytest.param(
        {"config": valid_config(filters={"dateRange": "2024"})},
        {"config": {"filters": {"dateRange": ["Date range must be an object"]}}},
        id="date-range-string",
    ),
    pytest.param(
        {"config": valid_config(extra=1)},
        {"config": {"extra": ["Unknown field."]}},
        id="unknown-config-field",
    ),
    pytest.param(
        {"config": valid_config(filters={"status": "open"})},
        {"config": {"filters": {"status": ["Unknown field."]}}},
        id="unknown-filter-field",
    ),
    pytest.param(
        {"config": valid_config(), "priority": 1},
        {"priority": ["Unknown field."]},
        id="unknown-top-field",
    ),
]


@pytest.mark.parametrize(("body", "expected"), START_CASES)
def test_start_rejects_invalid_config_with_documented_400(
    shim: Shim, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_validation(
        shim.post("/scan/start", json=body), expected, "Configuration validation failed"
    )


@pytest.mark.parametrize(
    ("data", "headers", "expected"),
    [
        (b'{"config": ', {}, {"body": ["Request body is not valid JSON"]}),
        (b"[]", {}, {"body": ["Request body must be a JSON object"]}),
        (b"null", {}, {"body": ["Request body must be a JSON object"]}),
        (b"", {}, {"body": ['Request body is required: a JSON object with a "config" object']}),
        (
            b'{"config": {}}',
            {"Content-Type": "text/plain"},
            {"body": ["Request body must be JSON (Content-Type: application/json)"]},
        ),
    ],
    ids=["truncated", "array", "null", "empty", "text-plain"],
)
def test_start_rejects_malformed_bodies(
    shim: Shim, data: bytes, headers: dict[str, str], expected: dict[str, Any]
) -> None:
    headers = {"Content-Type": "application/json", **headers}
    response = shim.post("/scan/start", data=data, headers=headers)
    assert_validation(response, expected, "Configuration validation failed")


def test_huge_bodies_get_a_400_not_a_500(shim: Shim) -> None:
    big = {"config": valid_config(filters={"properties": ["p" * 100] * 20_000})}
    response = shim.post("/scan/start", json=big)
    message = "Request body too large: at most 1048576 bytes are accepted"
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "message": message,
        "error": message,
        "validation_errors": {"body": [message]},
    }

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield b'{"config": {"scanId": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}}'

    streamed = shim.post("/scan/start", data=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 400
    assert streamed.json()["message"] == message


def test_valid_start_without_dagster_is_a_quick_503_and_leaks_no_token(shim: Shim) -> None:
    started = time.monotonic()
    response = shim.post("/scan/start", json={"config": valid_config()})
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["message"].startswith("Dagster is unreachable at http://127.0.0.1:")
    assert "connection refused" in body["message"]
    assert body["error"] == body["message"]
    assert TOKEN not in response.text
    assert TOKEN not in shim.log()


@pytest.mark.parametrize(
    "path",
    [
        "/scan/{id}/status",
        "/scan/{id}/cancel",
        "/scan/{id}/remove",
        "/results/{id}/tables",
        "/results/{id}/result",
    ],
)
def test_path_ids_that_cannot_exist_are_404(shim: Shim, path: str) -> None:
    method = {"cancel": "POST", "remove": "DELETE"}.get(path.rsplit("/", 1)[-1], "GET")
    response = shim.request(method, path.replace("{id}", "x" * 256))
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "No scan found with ID: " + "x" * 255 + "..."


# -- control characters in text inputs: one rule, every route, every surface ------------------

CONTROL = CONTROL_CHARACTERS_MESSAGE
TOKEN_FORMAT = "Invalid token format: printable ASCII characters without spaces"
START_BODY = {
    "config": {
        "scanId": "scan-1",
        "organizationId": "org-1",
        "type": ["user"],
        "auth": {"accessToken": TOKEN, "tennantUrl": "https://app.hubspot.com"},
        "filters": {
            "properties": ["dealname"],
            "dateRange": {"startDate": "2024-01-01", "endDate": "2024-12-31"},
        },
    }
}
ETL_START_BODY = {
    "tenant_id": "org-1",
    "scan_type": "full",
    "config": {
        "hubspot_access_token": TOKEN,
        "properties": ["dealname"],
        "filters": {"pipeline": "default"},
    },
}
CONTACT_FIELDS = ("email", "firstname", "lastname", "phone", "company", "website", "jobtitle")
CONTACT_BODY = {name: f"{name}@example.com" for name in CONTACT_FIELDS}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/scan/start"): START_BODY,
    ("POST", "/api/v1/scans/start"): ETL_START_BODY,
    ("POST", "/api/v1/scans/{scan_id}/cancel"): {"reason": "no longer needed"},
    ("POST", "/api/hs/contacts"): CONTACT_BODY,
    ("PUT", "/api/hs/contacts/{contact_id}"): CONTACT_BODY,
    ("PATCH", "/api/hs/contacts/{contact_id}"): CONTACT_BODY,
    ("POST", "/api/hs/contacts/bulk"): {"operation": "create", "contacts": [CONTACT_BODY]},
}


@dataclass(frozen=True)
class TextInput:
    """One text input of one route: a path or query parameter, or a string in the body
    (`field` is its path, list positions as numbers)."""

    method: str
    route: str
    location: str
    field: tuple[str | int, ...]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.method, self.route, self.location, ".".join(map(str, self.field)))

    @property
    def surface(self) -> str:
        if self.route.startswith("/api/hs/"):
            return "hubspot"  # OAuth and contacts: hubspot-integration-api.md's shape
        return "etl" if self.route.startswith("/api/v1/scans") else "scan"

    def send(self, shim: Shim, value: str) -> requests.Response:
        path_values = {
            "scan_id": "scan-1",
            "format": "csv",
            "contact_id": "151",
            "sync_type": "all",
        }
        params: dict[str, str] = {}
        body = copy.deepcopy(BODIES.get((self.method, self.route)))
        if self.location == "path":
            path_values[str(self.field[0])] = value
        elif self.location == "query":
            params[str(self.field[0])] = value
        else:
            node: Any = body
            for step in self.field[:-1]:
                node = node[step]
            node[self.field[-1]] = value
        url = shim.url + self.route.format(
            **{name: quote(v, safe="") for name, v in path_values.items()}
        )
        return shim.session.request(
            self.method, url, params=params, json=body, timeout=60, allow_redirects=False
        )

    def expected(self, message: str) -> dict[str, Any]:
        """The surface's 400 naming the field."""
        names = [str(step) for step in self.field if isinstance(step, str)]
        if self.surface == "etl":
            return {
                "error": "validation_error",
                "message": "Input validation failed",
                "details": {".".join(names): message},
            }
        if self.surface == "hubspot":
            return {
                "error": {
                    "code": "VALIDATION_ERROR",
                    "message": "Input validation failed",
                    "details": {"fields": [{"field": names[0], "message": message}]},
                }
            }
        tree: dict[str, Any] = {names[-1]: [message]}
        for name in reversed(names[:-1]):
            tree = {name: tree}
        if self.location != "body":
            prefix = "Invalid request parameters"
        elif self.route.endswith("/scan/start"):
            prefix = "Configuration validation failed"
        else:
            prefix = "Invalid request data"
        return {
            "success": False,
            "message": f"{prefix}: {tree}",
            "error": f"{prefix}: {tree}",
            "validation_errors": tree,
        }


def inputs(method: str, route: str, location: str, *fields: str | tuple) -> list[TextInput]:
    return [TextInput(method, route, location, f if isinstance(f, tuple) else (f,)) for f in fields]


SCAN_IDS = [
    TextInput(method, f"/api/v1/scan/{{scan_id}}/{action}", "path", ("scan_id",))
    for method, action in [("GET", "status"), ("POST", "cancel"), ("POST", "pause"),
                           ("POST", "resume"), ("DELETE", "remove")]
]  # fmt: skip
OAUTH_TENANTS = [
    TextInput(method, f"/api/hs/auth/{action}", "query", ("tenantId",))
    for method, action in [("GET", "login"), ("GET", "status"), ("POST", "refresh"),
                           ("POST", "logout")]
]  # fmt: skip
CONTACT = "/api/hs/contacts/{contact_id}"
CONTACT_INPUTS = [
    *inputs("POST", "/api/hs/contacts", "body", *CONTACT_FIELDS),
    *inputs("GET", "/api/hs/contacts", "query",
            "limit", "after", "properties", "sort", "order"),
    *inputs("GET", "/api/hs/contacts/search", "query", "query", "limit", "properties"),
    *inputs("POST", "/api/hs/contacts/bulk", "body", "operation"),
    *inputs("GET", CONTACT, "query", "properties"),
    *inputs("PUT", CONTACT, "body", *CONTACT_FIELDS),
    *inputs("PATCH", CONTACT, "body", *CONTACT_FIELDS),
    *[TextInput(method, route, "query", ("tenantId",))
      for method, route in [("POST", "/api/hs/contacts"), ("GET", "/api/hs/contacts"),
                            ("GET", "/api/hs/contacts/search"), ("POST", "/api/hs/contacts/bulk"),
                            ("GET", CONTACT), ("PUT", CONTACT), ("PATCH", CONTACT),
                            ("DELETE", CONTACT)]],
    *[TextInput(method, CONTACT, "path", ("contact_id",))
      for method in ("GET", "PUT", "PATCH", "DELETE")],
]  # fmt: skip
PROPERTY_SYNC = "/api/v1/hubspot/properties/sync"
PROPERTY_SYNC_INPUTS = [
    *[TextInput(method, f"{PROPERTY_SYNC}/{action}", "query", ("tenantId",))
      for method, action in [("POST", "all"), ("POST", "contacts"), ("POST", "leads"),
                             ("GET", "status/{sync_type}")]],
    TextInput("GET", f"{PROPERTY_SYNC}/status/{{sync_type}}", "path", ("sync_type",)),
]  # fmt: skip
TEXT_INPUTS = [
    *inputs("POST", "/api/v1/scan/start", "body",
            ("config", "scanId"), ("config", "organizationId"), ("config", "type", 0),
            ("config", "auth", "accessToken"), ("config", "auth", "tennantUrl"),
            ("config", "filters", "properties", 0),
            ("config", "filters", "dateRange", "startDate"),
            ("config", "filters", "dateRange", "endDate")),
    *inputs("GET", "/api/v1/scan/list", "query", "organizationId", "limit", "offset"),
    *SCAN_IDS,
    *inputs("GET", "/api/v1/results/{scan_id}/tables", "path", "scan_id"),
    *inputs("GET", "/api/v1/results/{scan_id}/result", "path", "scan_id"),
    *inputs("GET", "/api/v1/results/{scan_id}/result", "query", "tableName", "limit", "offset"),
    *inputs("GET", "/api/v1/results/{scan_id}/download/{format}", "path", "scan_id", "format"),
    *inputs("GET", "/api/v1/results/{scan_id}/download/{format}", "query", "tableName"),
    *inputs("GET", "/api/v1/stats", "query", "organizationId"),
    *inputs("POST", "/api/v1/maintenance/detect-crashed", "query", "timeoutMinutes"),
    *inputs("POST", "/api/v1/scans/start", "body",
            "tenant_id", "scan_type", ("config", "hubspot_access_token"),
            ("config", "properties", 0), ("config", "filters", "pipeline")),
    *inputs("GET", "/api/v1/scans/{scan_id}", "path", "scan_id"),
    *inputs("GET", "/api/v1/scans/{scan_id}/results", "path", "scan_id"),
    *inputs("GET", "/api/v1/scans/{scan_id}/results", "query",
            "page", "limit", "filter_stage", "filter_pipeline", "sort_by", "sort_order"),
    *inputs("POST", "/api/v1/scans/{scan_id}/cancel", "path", "scan_id"),
    *inputs("POST", "/api/v1/scans/{scan_id}/cancel", "body", "reason"),
    *inputs("DELETE", "/api/v1/scans/{scan_id}", "path", "scan_id"),
    *OAUTH_TENANTS,
    *inputs("GET", "/api/hs/auth/callback", "query", "code", "state", "error"),
    *CONTACT_INPUTS,
    *PROPERTY_SYNC_INPUTS,
]  # fmt: skip
CONTROL_CHARACTERS = {
    "nul": "\x00",
    "tab": "\t",
    "newline": "\n",
    "unit-separator": "\x1f",
    "del": "\x7f",
    "c1-next-line": "\x85",
}


def bad_value(case: TextInput, character: str) -> str:
    """A value that would pass the field's other checks but for the control character."""
    if case.field[-1] in ("accessToken", "hubspot_access_token"):
        return f"pat-na1-{character}-0123456789"
    return f"a{character}b"


@pytest.mark.parametrize("character", list(CONTROL_CHARACTERS.values()), ids=CONTROL_CHARACTERS)
@pytest.mark.parametrize("case", TEXT_INPUTS, ids=lambda c: " ".join(c.key).replace("/api", ""))
def test_control_characters_in_any_text_input_are_a_400_naming_the_field(
    shim: Shim, case: TextInput, character: str
) -> None:
    response = case.send(shim, bad_value(case, character))
    assert response.status_code == 400, response.text
    body = response.json()
    if case.surface == "etl":
        assert body.pop("timestamp").endswith("Z")
    assert body == case.expected(CONTROL)
    assert TOKEN not in response.text


def test_the_control_character_cases_cover_every_input_of_the_document(shim: Shim) -> None:
    """Every path and query parameter, and every string of every request body, that the
    OpenAPI document lists is a case above (a route or field added later must be added too),
    and every operation that takes input documents its 400."""
    document = shim.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def strings(schema: dict[str, Any], at: tuple) -> Iterator[tuple]:
        if "$ref" in schema:
            yield from strings(schemas[schema["$ref"].rsplit("/", 1)[-1]], at)
        for option in schema.get("anyOf", []):
            yield from strings(option, at)
        if schema.get("type") == "string":
            yield at
        if schema.get("type") == "array":
            yield from strings(schema["items"], (*at, 0))
        for name, field in schema.get("properties", {}).items():
            yield from strings(field, (*at, name))

    listed = set()
    for route, item in document["paths"].items():
        for method, operation in item.items():
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in operation["responses"], (method, route)
            for parameter in operation.get("parameters", []):
                case = TextInput(method.upper(), route, parameter["in"], (parameter["name"],))
                listed.add(case.key)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            for field in strings(body["schema"], ()) if body else ():
                listed.add(TextInput(method.upper(), route, "body", field).key)
    assert listed == {case.key for case in TEXT_INPUTS}
    assert len(listed) == 49 + len(CONTACT_INPUTS) + len(PROPERTY_SYNC_INPUTS)


@pytest.mark.parametrize(
    ("path", "field", "token"),
    [
        ("/api/v1/scan/start", ("config", "auth", "accessToken"), "pat na1 0123456789"),
        ("/api/v1/scan/start", ("config", "auth", "accessToken"), "pat-na1-\u00e9-0123456789"),
        ("/api/v1/scans/start", ("config", "hubspot_access_token"), "pat na1 0123456789"),
        ("/api/v1/scans/start", ("config", "hubspot_access_token"), "pat-na1-\u00e9-0123456789"),
    ],
    ids=["scan-space", "scan-non-ascii", "etl-space", "etl-non-ascii"],
)
def test_tokens_are_printable_ascii_without_spaces(
    shim: Shim, path: str, field: tuple[str, ...], token: str
) -> None:
    case = TextInput("POST", path, "body", field)
    response = case.send(shim, token)
    assert response.status_code == 400, response.text
    body = response.json()
    body.pop("timestamp", None)
    assert body == case.expected(TOKEN_FORMAT)


def test_reported_control_character_requests_are_400s(shim: Shim) -> None:
    """The defect's requests: a NUL in the ETL results' filters, in the scan list's
    organizationId, and a token of 24 NULs (accepted before, and the scan failed later)."""
    assert_nul_filters_are_400s(shim.api, "scan-1", {})
    listed = shim.session.get(f"{shim.api}/scan/list?organizationId=a%00b", timeout=60)
    assert listed.status_code == 400
    assert listed.json()["validation_errors"] == {"organizationId": [CONTROL]}
    config = {**START_BODY["config"], "auth": {"accessToken": "\x00" * 24}}
    started = shim.post("/scan/start", json={"config": config})
    assert started.status_code == 400
    assert started.json()["validation_errors"] == {"config": {"auth": {"accessToken": [CONTROL]}}}


def test_odd_but_possible_path_ids_reach_dagster(shim: Shim) -> None:
    # Scans from the Dagster UI may have any partition key: looked up, not refused.
    response = shim.get("/scan/a b.c/status")
    assert response.status_code == 503
    assert response.json()["message"].startswith("Dagster is unreachable")


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/scan/list", {"limit": 0}, {"limit": ["limit must be at least 1"]}),
        ("/scan/list", {"limit": 101}, {"limit": ["limit must be at most 100"]}),
        ("/scan/list", {"limit": "ten"}, {"limit": ["limit must be an integer"]}),
        ("/scan/list", {"limit": "2.5"}, {"limit": ["limit must be an integer"]}),
        ("/scan/list", {"offset": -1}, {"offset": ["offset must be at least 0"]}),
        (
            "/scan/list",
            {"offset": 2**63},
            {"offset": ["offset must be at most 9223372036854775807"]},
        ),
        (
            "/scan/list",
            {"organizationId": ""},
            {"organizationId": ["organizationId must be 1-255 characters"]},
        ),
        ("/results/s/result", {"limit": 501}, {"limit": ["limit must be at most 500"]}),
        ("/results/s/result", {"limit": 0}, {"limit": ["limit must be at least 1"]}),
        ("/results/s/result", {"offset": -5}, {"offset": ["offset must be at least 0"]}),
        (
            "/results/s/result",
            {"tableName": ""},
            {"tableName": ["tableName must be 1-255 characters"]},
        ),
        (
            "/stats",
            {"organizationId": "o" * 256},
            {"organizationId": ["organizationId must be 1-255 characters"]},
        ),
    ],
)
def test_query_parameters_are_validated(
    shim: Shim, path: str, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_validation(shim.get(path, params=params), expected, "Invalid request parameters")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"daysOld": 0}, {"daysOld": ["daysOld must be at least 1"]}),
        ({"daysOld": 366}, {"daysOld": ["daysOld must be at most 365"]}),
        ({"daysOld": "7"}, {"daysOld": ["daysOld must be an integer"]}),
        ({"daysOld": 7.5}, {"daysOld": ["daysOld must be an integer"]}),
        ({"daysOld": 366.0}, {"daysOld": ["daysOld must be at most 365"]}),
        ({"daysOld": True}, {"daysOld": ["daysOld must be an integer"]}),
        ({"daysOld": 7, "force": True}, {"force": ["Unknown field."]}),
    ],
)
def test_cleanup_body_is_validated(
    shim: Shim, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_validation(
        shim.post("/maintenance/cleanup", json=body), expected, "Invalid request data"
    )


def test_unknown_routes_and_methods_use_the_envelope(shim: Shim) -> None:
    missing = shim.get("/nothing/here")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "message": "The requested resource was not found: /api/v1/nothing/here",
        "error": "Not Found",
    }
    wrong = shim.get("/scan/start")
    assert wrong.status_code == 405
    assert wrong.json() == {
        "success": False,
        "message": "Method GET is not allowed for /api/v1/scan/start",
        "error": "Method Not Allowed",
    }


def test_health_is_503_with_the_unhealthy_body_when_dagster_is_down(shim: Shim) -> None:
    response = shim.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["service"] == "hubspot_deals_extraction"
    assert body["timestamp"].endswith("Z")
    assert body["error"].startswith("Dagster is unreachable at http://127.0.0.1:")
    assert body["checks"]["dagster_webserver"]["healthy"] is False
    assert body["checks"]["code_location"] == {
        "healthy": False,
        "detail": "not checked: Dagster unreachable",
    }
    assert body["checks"]["destination"]["healthy"] is True


def test_pipeline_info_reports_dagster_down(shim: Shim) -> None:
    response = shim.get("/pipeline/info")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pipeline_name"] == data["dataset_name"] == "hubspot_deals_extraction"
    assert data["destination_type"] == "duckdb"
    assert data["is_active"] is False
    assert data["database_health"] is True
    assert data["supports_checkpoints"] is True
    assert data["error"].startswith("Dagster is unreachable")


def test_docs_and_openapi_document(shim: Shim) -> None:
    docs = shim.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    redirect = shim.session.get(shim.url + "/docs", allow_redirects=False, timeout=10)
    assert redirect.status_code == 307 and redirect.headers["location"] == "/api/v1/docs"
    schema = shim.get("/openapi.json").json()
    assert sorted(schema["paths"]) == [
        "/api/hs/auth/callback",
        "/api/hs/auth/login",
        "/api/hs/auth/logout",
        "/api/hs/auth/refresh",
        "/api/hs/auth/status",
        "/api/hs/contacts",
        "/api/hs/contacts/bulk",
        "/api/hs/contacts/search",
        "/api/hs/contacts/{contact_id}",
        "/api/v1/health",
        "/api/v1/hubspot/properties/sync/all",
        "/api/v1/hubspot/properties/sync/contacts",
        "/api/v1/hubspot/properties/sync/leads",
        "/api/v1/hubspot/properties/sync/status/{sync_type}",
        "/api/v1/maintenance/cleanup",
        "/api/v1/maintenance/detect-crashed",
        "/api/v1/pipeline/info",
        "/api/v1/results/{scan_id}/download/{format}",
        "/api/v1/results/{scan_id}/result",
        "/api/v1/results/{scan_id}/tables",
        "/api/v1/scan/list",
        "/api/v1/scan/start",
        "/api/v1/scan/{scan_id}/cancel",
        "/api/v1/scan/{scan_id}/pause",
        "/api/v1/scan/{scan_id}/remove",
        "/api/v1/scan/{scan_id}/resume",
        "/api/v1/scan/{scan_id}/status",
        "/api/v1/scans/start",
        "/api/v1/scans/{scan_id}",
        "/api/v1/scans/{scan_id}/cancel",
        "/api/v1/scans/{scan_id}/results",
        "/api/v1/stats",
        "/health",
    ]
    start = schema["paths"]["/api/v1/scan/start"]["post"]
    assert sorted(start["responses"]) == ["202", "400", "401", "403", "409", "429", "500", "503"]
    assert start["security"] == [{"ApiKey": ["scans.write"]}, {}]
    assert "ApiKey" in schema["components"]["securitySchemes"]
    etl_start = schema["paths"]["/api/v1/scans/start"]["post"]["responses"]
    assert etl_start["401"]["content"]["application/json"]["example"]["error"] == "unauthorized"
    assert "security" not in schema["paths"]["/health"]["get"]
    assert start["responses"]["400"]["content"]["application/json"]["example"]["validation_errors"]
    assert "X-RateLimit-Reset" in start["responses"]["429"]["headers"]
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert components["StartScanRequest"]["examples"][0]["config"]["scanId"]
    for path in schema["paths"].values():
        for operation in path.values():
            assert "422" not in operation["responses"]
            assert operation["summary"] and operation["description"]


def test_rate_limits_per_endpoint_group(limited_shim: Shim) -> None:
    for remaining in (2, 1, 0):
        response = limited_shim.get("/health")
        assert response.status_code == 503  # Dagster is down; the limit still counts
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    reset = int(response.headers["X-RateLimit-Reset"])
    assert 0 < reset - time.time() <= 61
    limited = limited_shim.get("/health")
    assert limited.status_code == 429
    retry_after = limited.json()["retry_after"]
    assert 1 <= retry_after <= 60
    assert limited.json() == {
        "success": False,
        "message": f"Rate limit exceeded. Please retry after {retry_after} seconds.",
        "error": "Rate limit exceeded",
        "retry_after": retry_after,
    }
    assert limited.headers["Retry-After"] == str(retry_after)
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # /stats and /pipeline/info share the health group's window.
    assert limited_shim.get("/stats").status_code == 429
    # Other groups count separately: scans allow 2 an hour here.
    assert limited_shim.get("/scan/list").headers["X-RateLimit-Limit"] == "2"
    assert limited_shim.get("/scan/list").status_code == 503
    assert limited_shim.get("/scan/list").status_code == 429
    # Documentation is not limited.
    assert limited_shim.get("/openapi.json").status_code == 200
    assert "X-RateLimit-Limit" not in limited_shim.get("/openapi.json").headers
