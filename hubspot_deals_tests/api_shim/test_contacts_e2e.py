"""The contacts API end to end: the shim under uvicorn with API keys, the sandbox as HubSpot. A
tenant's private-app token (the organizations file) and another tenant's OAuth grant; every
endpoint's documented shape; bulk operations that report each contact; no duplicate when HubSpot
fails after creating, nothing lost in a 429 storm; scopes, tenants and the audit log."""

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from api_shim.api_keys import ApiKeyStore
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.conftest import fake_token
from hubspot_sandbox.process import SandboxServer

TENANT = "org-contacts"
OAUTH_TENANT = "org-grant"
PROPERTIES = "email,firstname,lastname,createdate"


@dataclass
class Stack:
    sandbox: SandboxServer
    shim: Shim
    token: str
    keys: dict[str, str]

    def hs(self, method: str, path: str = "", key: str = "rw", **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return self.shim.session.request(
            method, self.shim.url + "/api/hs/contacts" + path, headers=headers, timeout=120,
            allow_redirects=False, **kwargs,
        )  # fmt: skip

    def hubspot_contacts(self, email: str) -> list[dict[str, Any]]:
        """What HubSpot (the sandbox) holds for an email, read past the shim."""
        found = requests.post(
            self.sandbox.url("/crm/v3/objects/contacts/search"),
            headers=self.sandbox.auth_headers(self.token),
            json={
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}
                ],
                "properties": ["email"],
            },
            timeout=30,
        )
        assert found.status_code == 200, found.text
        return found.json()["results"]


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    token = fake_token()
    client_id, client_secret = "app-" + secrets.token_hex(4), secrets.token_hex(16)
    with SandboxServer(
        deals=200,
        seed=41,
        tokens=[token],
        oauth_clients=(f"{client_id}:{client_secret}",),
        oauth_token_lifetime=3,
    ) as sandbox:
        home = home_env(module_dir)
        organizations = module_dir / "organizations.yaml"
        organizations.write_text(
            f"organizations:\n  - id: {TENANT}\n    token_env: CONTACTS_TOKEN\n"
        )
        store = ApiKeyStore(Path(home["HUBSPOT_DEALS_HOME"]) / "api_keys.json")
        keys = {
            "rw": store.create("rw", ["contacts.read", "contacts.write"], [TENANT])[0],
            "ro": store.create("ro", ["contacts.read"], [TENANT])[0],
            "grant": store.create(
                "grant", ["contacts.read", "contacts.write", "scans.read"], [OAUTH_TENANT]
            )[0],
        }
        env = {
            **shim_env(None, home),
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_DEALS_ORGANIZATIONS_FILE": str(organizations),
            "CONTACTS_TOKEN": token,
            "HUBSPOT_DEALS_OAUTH_CLIENT_ID": client_id,
            "HUBSPOT_DEALS_OAUTH_CLIENT_SECRET": client_secret,
            "HUBSPOT_DEALS_OAUTH_AUTHORIZE_URL": sandbox.base_url + "/oauth/authorize",
            "HUBSPOT_DEALS_OAUTH_SCOPES": "crm.objects.contacts.read crm.objects.contacts.write "
            "oauth",
        }
        shim = Shim(env, module_dir, name="contacts-shim")
        shim.process.env["HUBSPOT_DEALS_OAUTH_REDIRECT_URI"] = shim.url + "/api/hs/auth/callback"
        with shim:
            yield Stack(sandbox, shim, token, keys)


def test_create_get_update_delete_with_the_organizations_token(stack: Stack) -> None:
    created = stack.hs(
        "POST",
        json={"email": "john.doe@example.com", "firstname": "John", "lastname": "Doe",
              "phone": "+1234567890", "company": "Example Corp", "jobtitle": "Engineer"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    contact_id = body["id"]
    assert (body["success"], body["created"]) == (True, True)
    assert {k: body["properties"][k] for k in ("email", "firstname", "lastname")} == {
        "email": "john.doe@example.com",
        "firstname": "John",
        "lastname": "Doe",
    }
    assert body["properties"]["createdate"].endswith("Z")

    got = stack.hs("GET", f"/{contact_id}").json()
    assert got["id"] == contact_id
    assert {k: got["properties"].get(k) for k in ("email", "phone", "company", "jobtitle")} == {
        "email": "john.doe@example.com",
        "phone": "+1234567890",
        "company": "Example Corp",
        "jobtitle": "Engineer",
    }
    assert got["createdAt"] and got["updatedAt"]
    only = stack.hs("GET", f"/{contact_id}", params={"properties": "email"}).json()
    assert set(only["properties"]) >= {"email"} and "phone" not in only["properties"]

    patched = stack.hs("PATCH", f"/{contact_id}", json={"jobtitle": "Lead", "company": "New"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["updatedFields"] == ["jobtitle", "company"]
    assert {k: patched.json()["properties"][k] for k in ("jobtitle", "company")} == {
        "jobtitle": "Lead",
        "company": "New",
    }

    # A full update clears the document's fields it leaves out.
    replaced = stack.hs(
        "PUT", f"/{contact_id}", json={"email": "john.doe@example.com", "lastname": "Doe II"}
    )
    assert replaced.status_code == 200, replaced.text
    after = stack.hs("GET", f"/{contact_id}").json()["properties"]
    assert (after["lastname"], after.get("phone"), after.get("jobtitle")) == ("Doe II", "", "")

    deleted = stack.hs("DELETE", f"/{contact_id}")
    assert deleted.json() == {
        "success": True,
        "deleted": True,
        "id": contact_id,
        "message": "Contact deleted successfully",
    }
    missing = stack.hs("GET", f"/{contact_id}")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": {"code": "CONTACT_NOT_FOUND",
                   "message": f"Contact with ID {contact_id} not found"}},
    )  # fmt: skip
    assert stack.hs("DELETE", f"/{contact_id}").status_code == 404


def test_list_sorts_pages_and_counts_and_search_finds(stack: Stack) -> None:
    first = stack.hs("GET", params={"limit": 7, "sort": "email", "order": "asc"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["results"]) == 7 and page["hasMore"] is True
    emails = [r["properties"]["email"] for r in page["results"]]
    assert emails == sorted(emails)
    total = page["total"]
    second = stack.hs(
        "GET", params={"limit": 7, "sort": "email", "order": "asc",
                       "after": page["paging"]["next"]["after"]},
    ).json()  # fmt: skip
    assert second["paging"]["prev"] == {"before": "0"}
    more = [r["properties"]["email"] for r in second["results"]]
    assert emails[-1] < more[0] and second["total"] == total

    someone = emails[3]
    found = stack.hs("GET", "/search", params={"query": someone, "limit": 5}).json()
    assert found["query"] == someone
    assert [r["properties"]["email"] for r in found["results"]] == [someone]
    assert found["total"] == 1


def test_a_duplicate_email_is_a_409_naming_the_existing_contact(stack: Stack) -> None:
    first = stack.hs("POST", json={"email": "twice@example.com"})
    assert first.status_code == 201, first.text
    again = stack.hs("POST", json={"email": "twice@example.com", "firstname": "Other"})
    assert again.status_code == 409
    assert again.json() == {
        "error": {
            "code": "CONTACT_EXISTS",
            "message": f"A contact with this email already exists (id {first.json()['id']})",
            "details": {"existingId": first.json()["id"]},
        }
    }
    assert len(stack.hubspot_contacts("twice@example.com")) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "field"),
    [
        ("POST", "", {"firstname": "No email"}, None, "email"),
        ("POST", "", {"email": "not-an-email"}, None, "email"),
        ("POST", "", {"email": "a@example.com", "createdate": "x"}, None, "createdate"),
        ("POST", "", {"email": "a@example.com", "Bad-Name": "x"}, None, "Bad-Name"),
        ("POST", "", {"email": "a\u0000@example.com"}, None, "email"),
        ("PATCH", "/123", {}, None, "property"),
        ("GET", "", None, {"limit": 101}, "limit"),
        ("GET", "/abc", None, None, "contact_id"),
        ("GET", "/search", None, None, "query"),
        ("POST", "/bulk", {"operation": "merge", "contacts": [{}]}, None, "operation"),
        ("POST", "/bulk", {"operation": "update", "contacts": [{"email": "x@y.z"}]}, None,
         "contacts"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_in_the_documents_shape(
    stack: Stack, method: str, path: str, body: Any, params: Any, field: str
) -> None:
    resp = stack.hs(method, path, json=body, params=params)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(field in f["field"] or field in f["message"] for f in error["details"]["fields"])


def test_an_unknown_hubspot_property_is_a_400_naming_it(stack: Stack) -> None:
    resp = stack.hs("POST", json={"email": "prop@example.com", "favourite_colour": "red"})
    assert resp.status_code == 400, resp.text
    fields = resp.json()["error"]["details"]["fields"]
    assert [f["field"] for f in fields] == ["favourite_colour"]
    assert stack.hubspot_contacts("prop@example.com") == []


def test_bulk_create_update_delete_report_each_contact(stack: Stack) -> None:
    taken = stack.hs("POST", json={"email": "taken@example.com"}).json()["id"]
    contacts = [{"email": f"bulk{i}@example.com", "firstname": f"B{i}"} for i in range(150)]
    contacts[120] = {"email": "taken@example.com"}
    created = stack.hs("POST", "/bulk", json={"operation": "create", "contacts": contacts})
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["summary"] == {"total": 150, "successful": 149, "failed": 1}
    assert answer["success"] is False and answer["operation"] == "create"
    assert answer["results"][120] == {
        "success": False,
        "email": "taken@example.com",
        "error": {
            "code": "CONTACT_EXISTS",
            "message": f"A contact with this email already exists (id {taken})",
            "details": {"existingId": taken},
        },
    }
    ids = [r["id"] for r in answer["results"] if r["success"]]
    assert len(set(ids)) == 149
    assert [r["email"] for r in answer["results"]] == [c["email"] for c in contacts]
    assert len(stack.hubspot_contacts("bulk149@example.com")) == 1

    updates = [{"id": ids[0], "jobtitle": "CTO"}, {"id": "999999999", "jobtitle": "X"}]
    updated = stack.hs("POST", "/bulk", json={"operation": "update", "contacts": updates}).json()
    assert updated["summary"] == {"total": 2, "successful": 1, "failed": 1}
    assert updated["results"][1]["error"]["code"] == "CONTACT_NOT_FOUND"
    got = stack.hs("GET", f"/{ids[0]}", params={"properties": "jobtitle"}).json()
    assert got["properties"]["jobtitle"] == "CTO"

    removal = [{"id": ids[1]}, {"id": "999999999"}]
    deleted = stack.hs("POST", "/bulk", json={"operation": "delete", "contacts": removal}).json()
    assert deleted["results"] == [
        {"id": ids[1], "success": True},
        {"id": "999999999", "success": False,
         "error": {"code": "CONTACT_NOT_FOUND", "message": "Contact not found"}},
    ]  # fmt: skip
    assert stack.hs("GET", f"/{ids[1]}").status_code == 404


@pytest.mark.slow
def test_no_duplicate_when_hubspot_fails_after_creating(stack: Stack) -> None:
    """HubSpot creates, then its gateway answers 502: the create is not sent again blindly."""
    stack.sandbox.admin("POST", "conditions", {"failAfterWrites": 1})
    created = stack.hs("POST", json={"email": "once@example.com", "firstname": "Once"})
    assert created.status_code == 201, created.text
    assert len(stack.hubspot_contacts("once@example.com")) == 1
    assert stack.hubspot_contacts("once@example.com")[0]["id"] == created.json()["id"]

    stack.sandbox.admin("POST", "conditions", {"failAfterWrites": 1})
    contacts = [{"email": f"after{i}@example.com"} for i in range(120)]
    bulk = stack.hs("POST", "/bulk", json={"operation": "create", "contacts": contacts}).json()
    assert bulk["summary"] == {"total": 120, "successful": 120, "failed": 0}
    for i in (0, 99, 100, 119):
        assert len(stack.hubspot_contacts(f"after{i}@example.com")) == 1
    assert len({r["id"] for r in bulk["results"]}) == 120


@pytest.mark.slow
def test_a_429_storm_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    """Another app spends the same token's limit: the API's pacing cannot foresee it, HubSpot
    answers 429, and every write is still made exactly once."""
    stack.sandbox.admin("POST", "conditions", {"rateLimit": 10, "rateLimitWindowMs": 1000})
    stack.sandbox.reset_stats(limits=True)
    other_app = threading.Event()

    def spend() -> None:
        while not other_app.is_set():
            requests.get(
                stack.sandbox.url("/crm/v3/objects/contacts"),
                headers=stack.sandbox.auth_headers(stack.token), params={"limit": 1}, timeout=30,
            )  # fmt: skip
            other_app.wait(0.2)  # about 5 of the 10 requests a second

    spender = threading.Thread(target=spend)
    spender.start()
    try:
        results: list[requests.Response] = []

        def create(i: int) -> None:
            results.append(stack.hs("POST", json={"email": f"storm{i}@example.com"}))

        threads = [threading.Thread(target=create, args=(i,)) for i in range(24)]
        for thread in threads:
            thread.start()
        bulk = stack.hs(
            "POST", "/bulk",
            json={"operation": "create",
                  "contacts": [{"email": f"stormbulk{i}@example.com"} for i in range(230)]},
        )  # fmt: skip
        for thread in threads:
            thread.join()
    finally:
        other_app.set()
        spender.join()
        stack.sandbox.admin("POST", "conditions", {"rateLimit": 190, "rateLimitWindowMs": 10000})
    assert sorted(r.status_code for r in results) == [201] * 24
    assert bulk.json()["summary"] == {"total": 230, "successful": 230, "failed": 0}
    assert stack.sandbox.stats()["rateLimited"]["TEN_SECONDLY_ROLLING"] > 0
    for email in ("storm0@example.com", "storm23@example.com", "stormbulk229@example.com"):
        assert len(stack.hubspot_contacts(email)) == 1


def test_scopes_tenants_and_missing_credentials(stack: Stack) -> None:
    assert stack.hs("GET", params={"limit": 1}, key="ro").status_code == 200
    refused = stack.hs("POST", json={"email": "ro@example.com"}, key="ro")
    assert refused.status_code == 403 and "contacts.write" in refused.text
    assert stack.hs("GET", key="").status_code == 401
    other = stack.hs("GET", params={"tenantId": TENANT}, key="grant")
    assert (other.status_code, other.json()["error"]["code"]) == (403, "FORBIDDEN")
    # The grant key's tenant has no grant yet and no private-app token.
    unconnected = stack.hs("GET", key="grant")
    assert unconnected.status_code == 401
    assert unconnected.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"


@pytest.mark.slow
def test_a_tenants_oauth_grant_is_used_and_refreshed(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.keys['grant']}"}
    login = stack.shim.session.get(
        stack.shim.url + "/api/hs/auth/login", headers=headers, timeout=60
    )
    assert login.status_code == 200, login.text
    approved = requests.get(login.json()["authUrl"], allow_redirects=False, timeout=30)
    callback = approved.headers["Location"]
    assert parse_qs(urlsplit(callback).query)["state"]
    back = stack.shim.session.get(callback, allow_redirects=False, timeout=60)
    assert back.headers["location"] == "/?hubspot_auth=success"

    created = stack.hs("POST", json={"email": "grant@example.com"}, key="grant")
    assert created.status_code == 201, created.text
    # The grant's access token lives 3 s: later calls refresh it.
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    threading.Event().wait(4)
    got = stack.hs("GET", f"/{created.json()['id']}", key="grant")
    assert got.status_code == 200, got.text
    assert got.json()["properties"]["email"] == "grant@example.com"


def test_writes_are_audited_without_tokens_or_personal_data(stack: Stack) -> None:
    created = stack.hs("POST", json={"email": "audited@example.com", "lastname": "Secret"})
    contact_id = created.json()["id"]
    stack.hs("DELETE", f"/{contact_id}")
    log = stack.shim.log()
    key_id = stack.keys["rw"].split("_")[1]
    assert f"contacts create key={key_id} tenant={TENANT} ids={contact_id} result=created" in log
    assert f"contacts delete key={key_id} tenant={TENANT} ids={contact_id} result=deleted" in log
    assert stack.token not in log
    assert "audited@example.com" not in log and "Secret" not in log
    for key in stack.keys.values():
        assert key not in log
