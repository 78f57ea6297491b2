"""API keys, the auth rules and the ETL error shape, without servers."""

import json
import stat
from pathlib import Path

import pytest

from api_shim.api_keys import ApiKeyError, ApiKeyStore, digest_of
from api_shim.auth import KeyAuthority, is_loopback, required_scope, serving_check
from api_shim.dagster import DagsterClient
from api_shim.errors import Unauthorized
from api_shim.etl_errors import etl_error_body, flatten, is_etl_path, validation_details
from api_shim.services.etl_scans import EtlScanService
from api_shim.services.results import ResultsService
from api_shim.services.scans import ScanService
from api_shim.settings import ApiSettings
from api_shim.tenancy import EVERY_TENANT, TenantScope
from hubspot_deals.load.deal_queries import DealQuery, DealSql, MissingDealProperty
from hubspot_deals.settings import Settings


def test_keys_are_stored_hashed_and_verified(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    assert not store.has_keys()
    key, record = store.create("ci", ["scans.read", "deals.read"], ["org-a", "org-b"])
    text = (tmp_path / "keys.json").read_text()
    assert key not in text and key.split("_", 2)[2] not in text
    assert json.loads(text)["keys"][0]["digest"] == digest_of(key)
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert store.verify(key) == record
    assert record.scopes == ("scans.read", "deals.read")
    assert record.tenants == ("org-a", "org-b")
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("Bearer " + key) is None
    assert store.verify("") is None


def test_revocation_is_seen_at_once_by_a_running_reader(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    shim, cli = ApiKeyStore(path), ApiKeyStore(path)
    key, record = cli.create("", ["scans.read"], ["org-a"])
    assert shim.verify(key) is not None
    cli.revoke(record.key_id)
    assert shim.verify(key) is None
    assert shim.has_keys()  # a revoked key still means: keys are required
    with pytest.raises(ApiKeyError, match="was revoked at"):
        cli.revoke(record.key_id)
    with pytest.raises(ApiKeyError, match="no key with id"):
        cli.revoke("000000000000")


@pytest.mark.parametrize(
    ("scopes", "tenants", "message"),
    [
        (["scans.admin"], ["org"], "scopes must be some of"),
        ([], ["org"], "scopes must be some of"),
        (["scans.read"], [], "at least one tenant"),
        (["scans.read"], ["org a"], "printable characters without spaces"),
    ],
)
def test_invalid_keys_are_refused(
    tmp_path: Path, scopes: list[str], tenants: list[str], message: str
) -> None:
    with pytest.raises(ApiKeyError, match=message):
        ApiKeyStore(tmp_path / "keys.json").create("", scopes, tenants)
    assert not (tmp_path / "keys.json").exists()


def test_a_damaged_key_file_refuses_every_request(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    authority = KeyAuthority(ApiKeyStore(path), open_access=True)
    with pytest.raises(Unauthorized, match="cannot be checked"):
        authority.principal("Bearer anything")
    allowed = serving_check("127.0.0.1", ApiKeyStore(path), open_access=True)
    assert not allowed.allowed and "cannot be read" in allowed.message


def test_authority_principals(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    open_loopback = KeyAuthority(store, open_access=True).principal(None)
    assert open_loopback.tenants is None and open_loopback.key_id is None
    with pytest.raises(Unauthorized, match="Invalid or missing API key"):
        KeyAuthority(store, open_access=False).principal(None)
    key, record = store.create("", ["deals.read"], ["org-a"])
    authority = KeyAuthority(store, open_access=True)
    for header in (None, "", "Basic abc", "Bearer", f"Token {key}"):
        with pytest.raises(Unauthorized, match="Invalid or missing API key"):
            authority.principal(header)
    principal = authority.principal(f"bearer  {key} ")
    assert principal.key_id == record.key_id
    assert principal.scopes == frozenset({"deals.read"})
    assert principal.may_act_for("org-a") and not principal.may_act_for("org-b")


def test_serving_check_allows_open_access_on_loopback_only_when_set(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    assert serving_check("127.0.0.1", store, open_access=True).allowed
    assert serving_check("::1", store, open_access=True).open
    for host in ("127.0.0.1", "0.0.0.0"):
        refused = serving_check(host, store)
        assert not refused.allowed and refused.message.startswith("Refusing to ")
    wide = serving_check("0.0.0.0", store, open_access=True)
    assert not wide.allowed
    assert wide.message.startswith("Refusing to serve on 0.0.0.0 with HUBSPOT_DEALS_API_OPEN")
    store.create("", ["scans.read"], ["org"])
    keyed = serving_check("0.0.0.0", store)
    assert keyed.allowed and not keyed.open
    assert not serving_check("127.0.0.1", store, open_access=True).open


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
     ("api.internal", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/api/v1/scan/{scan_id}/status", "scans.read"),
        ("GET", "/api/v1/scan/list", "scans.read"),
        ("POST", "/api/v1/scan/start", "scans.write"),
        ("POST", "/api/v1/scan/abc/pause", "scans.write"),
        ("DELETE", "/api/v1/scan/{scan_id}/remove", "scans.write"),
        ("GET", "/api/v1/results/{scan_id}/tables", "deals.read"),
        ("GET", "/api/v1/results/x/download/csv", "deals.read"),
        ("GET", "/api/v1/stats", "scans.read"),
        ("GET", "/api/v1/pipeline/info", "scans.read"),
        ("POST", "/api/v1/maintenance/cleanup", "scans.write"),
        ("GET", "/api/v1/scans/{scan_id}", "scans.read"),
        ("GET", "/api/v1/scans/results", "scans.read"),  # a scan whose id is "results"
        ("GET", "/api/v1/scans/my_results/results", "deals.read"),
        ("POST", "/api/v1/scans/start", "scans.write"),
        ("DELETE", "/api/v1/scans/{scan_id}", "scans.write"),
        ("POST", "/api/v1/hubspot/properties/sync/all", "properties.write"),
        ("POST", "/api/v1/hubspot/properties/sync/contacts", "properties.write"),
        ("GET", "/api/v1/hubspot/properties/sync/status/{sync_type}", "properties.write"),
        ("GET", "/api/v1/hubspot/properties/sync/status/leads", "properties.write"),
    ],
)
def test_required_scope(method: str, path: str, scope: str) -> None:
    assert required_scope(method, path) == scope


def test_a_tenant_scope_is_passed_to_services_whose_views_share_their_state(
    tmp_path: Path,
) -> None:
    assert EVERY_TENANT.sees("anyone") and TenantScope.of(None) == EVERY_TENANT
    scope = TenantScope.of(["org-a"])
    assert scope.sees("org-a") and not scope.sees("org-b")
    settings = ApiSettings()
    dagster = DagsterClient(settings)
    scans = ScanService(settings, Settings(home=tmp_path), dagster, None)  # type: ignore[arg-type]
    results = ResultsService(scans, dagster, None)  # type: ignore[arg-type]
    etl = EtlScanService(scans, results, None)  # type: ignore[arg-type]
    view = etl.for_scope(scope)
    assert {view.scope, view.scans.scope, view.results.scope, view.results.scans.scope} == {scope}
    assert {etl.scope, scans.scope, results.scope} == {EVERY_TENANT}  # the app's own stay open
    assert view.scans._failures is scans._failures and view.scans._lock is scans._lock
    assert view.scans.cipher() is scans.cipher()  # made once, by whichever view came first


def test_etl_error_shapes() -> None:
    assert is_etl_path("/health") and is_etl_path("/api/v1/scans/x/results")
    assert not is_etl_path("/api/v1/scan/x/status") and not is_etl_path("/api/v1/health")
    assert not is_etl_path("/api/v1/scansx")
    body = etl_error_body(409, "busy", extra={"active_scan_id": "s1"})
    assert body.pop("timestamp").endswith("Z")
    assert body == {"error": "conflict", "message": "busy", "active_scan_id": "s1"}
    internal = etl_error_body(500, "boom")
    assert internal["error"] == "internal_error" and internal["incident_id"].startswith("inc_")
    details = validation_details(
        [
            {"loc": ("body", "tenant_id"), "type": "missing", "msg": "Field required"},
            {"loc": ("body", "config", "hubspot_access_token"), "type": "string_too_short",
             "msg": "String should have at least 10 characters", "input": "pat-secret"},
            {"loc": ("body", "config", "x"), "type": "extra_forbidden", "msg": "Extra inputs"},
            {"loc": ("query", "limit"), "type": "less_than_equal",
             "msg": "Input should be less than or equal to 1000"},
        ]
    )  # fmt: skip
    assert details == {
        "tenant_id": "Field is required",
        "config.hubspot_access_token": "String should have at least 10 characters",
        "config.x": "Unknown field",
        "limit": "Input should be less than or equal to 1000",
    }
    assert flatten({"config": {"auth": {"accessToken": ["a", "b"]}}, "limit": ["c"]}) == {
        "config.auth.accessToken": "a; b",
        "limit": "c",
    }


def test_deal_sql_filters_sorts_and_refuses_missing_columns() -> None:
    columns = ["id", "dealname", "amount", "dealstage", "createdate"]
    sql = DealSql.build(
        DealQuery(stage="closedwon", sort_by="amount", descending=True, limit=10, offset=20),
        columns,
        "deals",
        ("_scan_id = ?", ["s1"]),
        "id",
        "?",
    )
    assert sql.page.endswith(
        'FROM deals WHERE _scan_id = ? AND "dealstage" = ? ORDER BY "amount" DESC NULLS LAST, '
        "id LIMIT ? OFFSET ?"
    )
    assert sql.page_params == ["s1", "closedwon", 10, 20]
    assert sql.figures_params == ["s1", "closedwon"]
    # No closedate in this scan: the default sort falls back to the deal id.
    fallback = DealSql.build(DealQuery(), columns, "deals", ("", []), "id", "?")
    assert fallback.sort_by is None and "ORDER BY id LIMIT" in fallback.page
    for query, field_name in (
        (DealQuery(pipeline="default"), "filter_pipeline"),
        (DealQuery(sort_by="closedate"), "sort_by"),
    ):
        with pytest.raises(MissingDealProperty) as raised:
            DealSql.build(query, columns, "deals", ("", []), "id", "?")
        assert raised.value.field == field_name


def test_key_file_location_follows_the_settings(tmp_path: Path) -> None:
    from api_shim.api_keys import key_store

    assert key_store(None, tmp_path).path == tmp_path / "api_keys.json"
    assert key_store(tmp_path / "k.json", Path("/elsewhere")).path == tmp_path / "k.json"
