"""Companies, contacts, line items and leads over real HTTP: list, get, search, batch read, the
discovery definitions peers read, scopes, rate limits and faults on the generic routes."""

from __future__ import annotations

import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.object_types import SEEDED
from hubspot_sandbox.process import SandboxServer

SEEDED_COUNTS = {"companies": (606, 19), "contacts": (1212, 38), "line_items": (2425, 75),
                 "leads": (242, 8)}  # fmt: skip
# What Meltano's tap-hubspot (v3) and Airbyte's source-hubspot (v2 and v3) read in discovery.
MELTANO_V3 = (
    "calls",
    "communications",
    "companies",
    "contacts",
    "deals",
    "emails",
    "goal_targets",
    "leads",
    "line_items",
    "meetings",
    "notes",
    "postal_mail",
    "tasks",
)
AIRBYTE = ("calls", "company", "contact", "deal", "deal_split", "emails", "form", "goal_targets",
           "leads", "line_item", "meetings", "notes", "tasks", "product", "ticket")  # fmt: skip


def walk(sandbox: Sandbox, path: str, params: dict[str, str]) -> list[dict]:
    records: list[dict] = []
    while True:
        resp = sandbox.get(path, params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        records += body["results"]
        if "paging" not in body:
            return records
        assert body["paging"]["next"]["link"].startswith(sandbox.base_url + path + "?")
        params = {**params, "after": body["paging"]["next"]["after"]}


@pytest.mark.parametrize("kind", SEEDED, ids=lambda k: k.name)
def test_list_pages_every_live_record_then_the_archived_ones(sandbox: Sandbox, kind) -> None:
    store = sandbox.crm.stores[kind.name]
    live, archived = SEEDED_COUNTS[kind.name]
    everything = ",".join(store.registry.names())
    records = walk(
        sandbox, f"/crm/v3/objects/{kind.name}", {"limit": "100", "properties": everything}
    )
    assert [r["id"] for r in records] == store.live_ids()
    assert len(records) == live
    assert records == [store.wire(store.index_of(r["id"])) for r in records]
    gone = walk(sandbox, f"/crm/v3/objects/{kind.type_id}", {"archived": "true", "limit": "7"})
    assert [r["id"] for r in gone] == store.archived_ids()
    assert len(gone) == archived
    assert all(r["archived"] is True and r["archivedAt"] for r in gone)


def test_default_and_always_included_properties(sandbox: Sandbox) -> None:
    contact = sandbox.get("/crm/v3/objects/contacts", params={"limit": "1"}).json()["results"][0]
    assert list(contact["properties"]) == ["hs_object_id", "createdate", "lastmodifieddate",
                                           "email", "firstname", "lastname"]  # fmt: skip
    assert contact["updatedAt"] == contact["properties"]["lastmodifieddate"]
    company = sandbox.get("/crm/v3/objects/company", params={"limit": "1"}).json()["results"][0]
    assert list(company["properties"]) == ["hs_object_id", "createdate", "hs_lastmodifieddate",
                                           "name", "domain"]  # fmt: skip
    item = sandbox.get("/crm/v3/objects/0-8", params={"limit": "1", "properties": "sku,amount"})
    assert list(item.json()["results"][0]["properties"]) == [
        "hs_object_id", "createdate", "hs_lastmodifieddate", "amount"]  # fmt: skip


def test_get_by_id_by_email_and_404(sandbox: Sandbox) -> None:
    store = sandbox.crm.stores["contacts"]
    record_id = store.live_ids()[17]
    index = store.index_of(record_id)
    resp = sandbox.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "phone"})
    assert resp.json() == store.wire(index, store.selection(["phone"]))
    email = store.value(index, "email")
    by_email = sandbox.get(f"/crm/v3/objects/contacts/{email}", params={"idProperty": "email"})
    assert by_email.json()["id"] == record_id
    assert sandbox.get(f"/crm/v3/objects/contacts/{store.archived_ids()[0]}").status_code == 404
    assert sandbox.get("/crm/v3/objects/contacts/12").json()["category"] == "OBJECT_NOT_FOUND"
    unknown = sandbox.get("/crm/v3/objects/widgets")
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Unable to infer object type from: widgets"


def test_search_filters_sorts_query_and_paging(sandbox: Sandbox) -> None:
    store = sandbox.crm.stores["companies"]
    body = {
        "filterGroups": [{"filters": [{"propertyName": "industry", "operator": "EQ",
                                       "value": "retail"}]},
                         {"filters": [{"propertyName": "numberofemployees", "operator": "LT",
                                       "value": 50}]}],
        "sorts": [{"propertyName": "name", "direction": "DESCENDING"}],
        "properties": ["name", "industry", "numberofemployees"],
        "limit": 30,
    }  # fmt: skip

    def employees(index: int) -> float:
        value = store.value(index, "numberofemployees")
        return float(value) if value else float("inf")

    expected = [i for i in store.live_indexes()
                if store.value(i, "industry") == "RETAIL" or employees(i) < 50]  # fmt: skip
    expected.sort(key=lambda i: (store.value(i, "name").lower(), -i), reverse=True)
    first = sandbox.post("/crm/v3/objects/companies/search", body).json()
    assert first["total"] == len(expected) == 80
    assert [r["id"] for r in first["results"]] == [store.record_id(i) for i in expected[:30]]
    assert first["paging"] == {"next": {"after": "30"}}
    contacts = sandbox.crm.stores["contacts"]
    email = contacts.value(5, "email")
    found = sandbox.post("/crm/v3/objects/contacts/search", {"query": email[:-4]}).json()
    assert found["total"] == 1 and found["results"][0]["id"] == contacts.record_id(5)
    names = sandbox.post("/crm/v3/objects/contacts/search", {"query": "zoë", "limit": 200}).json()
    assert names["total"] == sum(
        1
        for i in contacts.live_indexes()
        if (contacts.value(i, "firstname") or "").lower() == "zoë"
    )
    assert sandbox.post("/crm/v3/objects/calls/search", {}).json() == {"total": 0, "results": []}
    bad = sandbox.post("/crm/v3/objects/contacts/search", {"limit": 200, "after": 9_900})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"


def test_batch_read_with_missing_ids_is_207(sandbox: Sandbox) -> None:
    store = sandbox.crm.stores["line_items"]
    wanted = store.live_ids()[:3]
    resp = sandbox.post(
        "/crm/v3/objects/line_items/batch/read",
        {"inputs": [{"id": i} for i in [*wanted, "1"]], "properties": ["price"]},
    )
    assert resp.status_code == 207  # fmt: skip
    body = resp.json()
    assert [r["id"] for r in body["results"]] == wanted
    assert body["results"][0]["properties"] == {
        k: store.value(store.index_of(wanted[0]), k)
        for k in ("hs_object_id", "createdate", "hs_lastmodifieddate", "price")}  # fmt: skip
    assert body["numErrors"] == 1 and body["errors"][0]["context"] == {"ids": ["1"]}
    assert body["errors"][0]["message"].startswith("Could not get some LINE_ITEM objects")
    too_many = sandbox.post("/crm/v3/objects/line_items/batch/read",
                            {"inputs": [{"id": "1"}] * 101})  # fmt: skip
    assert too_many.status_code == 400


@pytest.mark.parametrize("path", [f"/crm/v3/properties/{n}" for n in MELTANO_V3]
                         + [f"/properties/v2/{n}/properties" for n in AIRBYTE]
                         + [f"/crm/v3/properties/{n}" for n in AIRBYTE])  # fmt: skip
def test_discovery_definitions_for_every_type_peers_ask_for(sandbox: Sandbox, path: str) -> None:
    resp = sandbox.get(path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    definitions = body if path.startswith("/properties/v2") else body["results"]
    assert [d["name"] for d in definitions][:2] == ["hs_object_id", "createdate"]
    assert all({"name", "label", "type", "fieldType", "groupName"} <= set(d) for d in definitions)


def test_companies_and_contacts_definitions_exactly(sandbox: Sandbox) -> None:
    contacts = sandbox.get("/crm/v3/properties/contacts").json()["results"]
    assert [(d["name"], d["type"], d["fieldType"]) for d in contacts] == [
        ("hs_object_id", "number", "number"), ("createdate", "datetime", "date"),
        ("lastmodifieddate", "datetime", "date"),
        ("hs_merged_object_ids", "enumeration", "checkbox"),
        ("hubspot_owner_id", "enumeration", "select"),
        ("email", "string", "text"), ("firstname", "string", "text"),
        ("lastname", "string", "text"), ("phone", "phone_number", "phonenumber"),
        ("company", "string", "text"), ("jobtitle", "string", "text"),
        ("website", "string", "text"),
        ("lifecyclestage", "enumeration", "select"), ("city", "string", "text"),
        ("hs_email_optout", "bool", "booleancheckbox")]  # fmt: skip
    legacy = sandbox.get("/properties/v2/contact/properties").json()
    assert [d["name"] for d in legacy] == [d["name"] for d in contacts]
    assert sandbox.get("/crm/v3/objects/meetings").json() == {"results": []}


def test_scopes_of_the_generic_routes(sandbox: Sandbox) -> None:
    resp = sandbox.get("/crm/v3/objects/companies", token=sandbox.deals_only_token)
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["context"] == {
        "requiredGranularScopes": ["crm.objects.companies.read"]}  # fmt: skip
    write = sandbox.post("/crm/v3/objects/contacts", {"properties": {}},
                         token=sandbox.deals_only_token)  # fmt: skip
    assert write.json()["errors"][0]["context"] == {
        "requiredGranularScopes": ["crm.objects.contacts.write"]}  # fmt: skip
    schema = sandbox.get("/crm/v3/properties/leads", token=sandbox.deals_only_token)
    assert schema.json()["errors"][0]["context"] == {
        "requiredGranularScopes": ["crm.schemas.leads.read"]}  # fmt: skip


def test_rate_limits_and_faults_apply_to_the_new_routes() -> None:
    token = make_token()
    with (
        SandboxServer(deals=200, tokens=[token], rate_limit=3, search_rate_limit=1) as server,
        requests.Session() as s,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        paths = ["/crm/v3/objects/contacts", "/crm/v4/associations/deals/companies/labels",
                 "/crm/v3/properties/calls"]  # fmt: skip
        statuses = [s.get(server.url(p), headers=headers, timeout=30).status_code for p in paths]
        over = s.get(server.url("/crm/v3/objects/companies"), headers=headers, timeout=30)
        assert statuses == [200, 200, 200] and over.status_code == 429
        assert over.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert over.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        search = [s.post(server.url("/crm/v3/objects/contacts/search"), json={}, headers=headers,
                         timeout=30).status_code for _ in range(2)]  # fmt: skip
        assert search == [200, 429]
        requests_by_route = server.stats()["requests"]
        assert requests_by_route["GET /crm/v3/objects/companies"] == {"429": 1}
        assert requests_by_route["POST /crm/v3/objects/contacts/search"] == {"200": 1, "429": 1}
    with (
        SandboxServer(deals=200, tokens=[token], fault_rate=1.0, fault_codes=(502,)) as server,
        requests.Session() as s,
    ):
        resp = s.get(server.url("/crm/v4/objects/deals/1/associations/companies"),
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert resp.status_code == 502 and resp.headers["Content-Type"].startswith("text/html")


def test_association_batch_reads_draw_on_a_bucket_of_their_own() -> None:
    token = make_token()
    with (
        SandboxServer(deals=200, tokens=[token], rate_limit=2, association_rate_limit=3) as server,
        requests.Session() as s,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        batch = server.url("/crm/v4/associations/deals/companies/batch/read")
        body = {"inputs": [{"id": server.account().deal_id(0)}]}
        reads = [s.post(batch, json=body, headers=headers, timeout=30) for _ in range(4)]
        assert [r.status_code == 429 for r in reads] == [False, False, False, True]
        assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in reads] == ["2", "1", "0", "0"]
        assert reads[0].headers["X-HubSpot-RateLimit-Max"] == "3"
        assert reads[3].json()["policyName"] == "TEN_SECONDLY_ROLLING"
        lists = [s.get(server.url("/crm/v3/objects/contacts"), headers=headers, timeout=30)
                 for _ in range(3)]  # fmt: skip
        assert [r.status_code for r in lists] == [200, 200, 429]
