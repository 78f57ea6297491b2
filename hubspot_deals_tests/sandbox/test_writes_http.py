"""The write side: contacts create/update/archive (single and batch, unique email conflicts) and
property definitions and groups as code would write them, with HubSpot's errors."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.process import SandboxServer

CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture(scope="module")
def writable() -> Iterator[Sandbox]:
    """A server of its own: these tests change its data."""
    token = make_token()
    with SandboxServer(deals=400, seed=11, tokens=[token]) as server, requests.Session() as s:
        account = server.account()
        yield Sandbox(server, token, token, token, account, s, server.crm())


def test_contact_create_get_update_archive(writable: Sandbox) -> None:
    created = writable.post(
        CONTACTS,
        {
            "properties": {
                "email": "new.person@example.net",
                "firstname": "Nóra",
                "hs_email_optout": True,
            }
        },
    )
    assert created.status_code == 201  # fmt: skip
    contact = created.json()
    assert contact["properties"]["email"] == "new.person@example.net"
    assert contact["properties"]["hs_email_optout"] == "true"
    assert contact["createdAt"] == contact["updatedAt"] == contact["properties"]["createdate"]
    store = writable.crm.stores["contacts"]
    assert int(contact["id"]) > store.id_int(store.total - 1)
    got = writable.get(f"{CONTACTS}/{contact['id']}", params={"properties": "firstname,email"})
    assert got.json()["properties"]["firstname"] == "Nóra"
    patched = writable.send("PATCH", f"{CONTACTS}/{contact['id']}",
                            {"properties": {"lastname": "Ödön", "jobtitle": ""}})  # fmt: skip
    assert patched.status_code == 200
    assert patched.json()["properties"]["lastname"] == "Ödön"
    assert patched.json()["properties"]["jobtitle"] == ""
    assert patched.json()["updatedAt"] >= contact["updatedAt"]
    found = writable.post(f"{CONTACTS}/search", {"query": "new.person"}).json()
    assert [r["id"] for r in found["results"]] == [contact["id"]]
    assert writable.send("DELETE", f"{CONTACTS}/{contact['id']}").status_code == 204
    assert writable.get(f"{CONTACTS}/{contact['id']}").status_code == 404
    archived = writable.get(f"{CONTACTS}/{contact['id']}", params={"archived": "true"}).json()
    assert archived["archived"] is True
    # the archived contact's email is free again
    again = writable.post(CONTACTS, {"properties": {"email": "NEW.PERSON@example.net"}})
    assert again.status_code == 201


def test_duplicate_email_is_409_with_the_existing_id(writable: Sandbox) -> None:
    store = writable.crm.stores["contacts"]
    existing = store.live_ids()[4]
    email = store.value(store.index_of(existing), "email")
    resp = writable.post(CONTACTS, {"properties": {"email": email.upper()}})
    assert resp.status_code == 409
    assert resp.json() == {"status": "error",
                           "message": f"Contact already exists. Existing ID: {existing}",
                           "correlationId": resp.headers["X-HubSpot-Correlation-Id"],
                           "category": "CONFLICT"}  # fmt: skip
    other = store.live_ids()[5]
    moved = writable.send("PATCH", f"{CONTACTS}/{other}", {"properties": {"email": email}})
    assert moved.status_code == 409


def test_invalid_values_are_listed_in_one_400(writable: Sandbox) -> None:
    resp = writable.post(CONTACTS, {"properties": {"email": "nope", "nosuch": "x",
                                                   "lifecyclestage": "king",
                                                   "hs_object_id": "5"}})  # fmt: skip
    assert resp.status_code == 400 and resp.json()["category"] == "VALIDATION_ERROR"
    message = resp.json()["message"]
    assert message.startswith("Property values were not valid: ")
    problems = orjson.loads(message.removeprefix("Property values were not valid: "))
    assert [(p["name"], p["error"]) for p in problems] == [
        ("email", "INVALID_EMAIL"), ("nosuch", "PROPERTY_DOESNT_EXIST"),
        ("lifecyclestage", "INVALID_OPTION"), ("hs_object_id", "READ_ONLY_VALUE")]  # fmt: skip


def test_batch_create_update_archive_report_each_failed_input(writable: Sandbox) -> None:
    store = writable.crm.stores["contacts"]
    taken = store.value(store.index_of(store.live_ids()[0]), "email")
    inputs = [{"properties": {"email": f"batch{k}@example.net", "firstname": f"B{k}"}}
              for k in range(99)] + [{"properties": {"email": taken}}]  # fmt: skip
    resp = writable.post(f"{CONTACTS}/batch/create", {"inputs": inputs})
    body = resp.json()
    assert resp.status_code == 207 and body["status"] == "COMPLETE"
    assert len(body["results"]) == 99 and body["numErrors"] == 1
    assert body["errors"] == [{"status": "error", "category": "CONFLICT",
                               "message": f"Contact already exists. Existing ID: "
                                          f"{store.live_ids()[0]}",
                               "context": {"index": ["99"],
                                           "existingId": [store.live_ids()[0]]},
                               "errors": [], "links": {}}]  # fmt: skip
    ids = [r["id"] for r in body["results"]]
    assert len(set(ids)) == 99
    too_many = writable.post(f"{CONTACTS}/batch/create", {"inputs": inputs + inputs[:1]})
    assert too_many.status_code == 400
    update = writable.post(
        f"{CONTACTS}/batch/update",
        {"inputs": [{"id": ids[0], "properties": {"city": "Győr"}}, {"id": "1", "properties": {}}]},
    )
    assert update.status_code == 207  # fmt: skip
    assert update.json()["results"][0]["properties"]["city"] == "Győr"
    assert update.json()["errors"][0]["context"] == {"ids": ["1"]}
    archive = writable.post(f"{CONTACTS}/batch/archive", {"inputs": [{"id": i} for i in ids]})
    assert archive.status_code == 204
    read = writable.post(f"{CONTACTS}/batch/read", {"inputs": [{"id": ids[0]}]})
    assert read.status_code == 207
    search = writable.post(f"{CONTACTS}/search", {"query": "batch1"}).json()
    assert search == {"total": 0, "results": []}


def test_property_definitions_groups_and_validation(writable: Sandbox) -> None:
    base = "/crm/v3/properties/contacts"
    group = writable.post(f"{base}/groups", {"name": "seed_data", "label": "Seed data"})
    assert group.status_code == 201
    assert group.json() == {"name": "seed_data", "label": "Seed data", "displayOrder": -1,
                            "archived": False}  # fmt: skip
    definition = {"name": "favorite_food", "label": "Favorite food", "type": "enumeration",
                  "fieldType": "select", "groupName": "seed_data",
                  "options": [{"label": "Pizza", "value": "pizza"},
                              {"label": "Ramen", "value": "ramen"}]}  # fmt: skip
    created = writable.post(base, definition)
    assert created.status_code == 201 and created.json()["hubspotDefined"] is False
    assert writable.post(base, definition).status_code == 409
    bad_pair = writable.post(base, {**definition, "name": "x1", "type": "number",
                                    "fieldType": "text"})  # fmt: skip
    assert bad_pair.status_code == 400
    assert bad_pair.json()["message"] == (
        "Field type 'text' is not valid for property type 'number'; allowed: "
        "['calculation_equation', 'number']")  # fmt: skip
    no_options = writable.post(base, {**definition, "name": "x2", "options": []})
    assert no_options.json()["message"] == "Enumeration property 'x2' needs 'options'"
    no_group = writable.post(base, {**definition, "name": "x3", "groupName": "nope"})
    assert no_group.json()["message"] == "Property group 'nope' does not exist"
    bad_name = writable.post(base, {**definition, "name": "Bad Name"})
    assert bad_name.status_code == 400
    patched = writable.send("PATCH", f"{base}/favorite_food", {"label": "Food"})
    assert patched.json()["label"] == "Food"
    hubspot_defined = writable.send("PATCH", f"{base}/email", {"type": "number"})
    assert hubspot_defined.status_code == 400
    batch = writable.post(f"{base}/batch/create", {"inputs": [
        {**definition, "name": "seats_wanted", "type": "number", "fieldType": "number",
         "options": []}, definition]})  # fmt: skip
    assert batch.status_code == 207
    assert [d["name"] for d in batch.json()["results"]] == ["seats_wanted"]
    assert batch.json()["errors"][0]["category"] == "CONFLICT"
    names = [d["name"] for d in writable.get(base).json()["results"]]
    assert names[-2:] == ["favorite_food", "seats_wanted"]
    # the new property takes values on contacts, with its options checked
    contact = writable.crm.stores["contacts"].live_ids()[9]
    ok = writable.send("PATCH", f"{CONTACTS}/{contact}", {"properties": {
        "favorite_food": "ramen", "seats_wanted": 3}})  # fmt: skip
    assert ok.json()["properties"]["favorite_food"] == "ramen"
    assert ok.json()["properties"]["seats_wanted"] == "3"
    wrong = writable.send("PATCH", f"{CONTACTS}/{contact}", {"properties": {
        "favorite_food": "sushi"}})  # fmt: skip
    assert wrong.status_code == 400
    assert writable.send("DELETE", f"{base}/favorite_food").status_code == 204
    archived = writable.get(base, params={"archived": "true"}).json()["results"]
    assert [d["name"] for d in archived] == ["favorite_food"]
    assert writable.get(f"{base}/favorite_food").status_code == 404
    leads = writable.post("/crm/v3/properties/leads", {**definition, "groupName":
                                                       "lead_information"})  # fmt: skip
    assert leads.status_code == 201


def test_admin_changes_to_companies(writable: Sandbox) -> None:
    server = writable.server
    store = writable.crm.stores["companies"]
    company = store.live_ids()[2]
    result = server.admin("POST", "objects/companies/modify", {
        "ids": [company], "properties": {"name": "Renamed GmbH"},
        "modifiedAt": "2026-07-05T00:00:00Z"})  # fmt: skip
    assert result == {"modified": 1, "modifiedAt": "2026-07-05T00:00:00.000Z"}
    got = writable.get(f"/crm/v3/objects/companies/{company}").json()
    assert got["properties"]["name"] == "Renamed GmbH"
    assert got["updatedAt"] == "2026-07-05T00:00:00.000Z"
    made = server.admin("POST", "objects/company/create", {
        "records": [{"properties": {"name": "Fresh AG", "domain": "fresh.example"}}],
        "createdAt": 1_783_000_000_000})  # fmt: skip
    fresh = writable.get(f"/crm/v3/objects/companies/{made['ids'][0]}").json()
    assert fresh["properties"]["name"] == "Fresh AG"
    assert fresh["createdAt"] == "2026-07-02T13:46:40.000Z"
    summary = server.admin("GET", "account")["objects"]["companies"]
    assert summary == {"live": 98, "archived": 3, "merged": 0, "created": 1, "changed": 1}


def test_merging_two_contacts_makes_a_new_record_and_moves_their_deals(writable: Sandbox) -> None:
    crm = writable.crm
    contacts = crm.stores["contacts"]
    linked = [c for c in contacts.live_indexes() if crm.links_of("contacts", c, "deals")]
    primary, secondary = linked[20], linked[21]
    deals = sorted(
        {d for c in (primary, secondary) for d, _ in crm.links_of("contacts", c, "deals")}
    )
    ids = [contacts.record_id(primary), contacts.record_id(secondary)]
    resp = writable.post(
        f"{CONTACTS}/merge", {"primaryObjectId": ids[0], "objectIdToMerge": ids[1]}
    )
    assert resp.status_code == 200
    merged = resp.json()
    assert int(merged["id"]) > max(int(i) for i in ids)
    assert merged["properties"]["hs_merged_object_ids"] == ";".join(ids)
    assert merged["properties"]["email"] == contacts.value(primary, "email")
    assert merged["createdAt"] == contacts.value(primary, "createdate")
    for old in ids:
        again = writable.get(f"{CONTACTS}/{old}", params={"properties": "email"}).json()
        assert again["id"] == merged["id"]
    listed = [c["id"] for c in writable.get(CONTACTS, params={"limit": "100", "after": ids[0]})
              .json()["results"]]  # fmt: skip
    assert ids[0] not in listed and ids[1] not in listed
    gone = [c["id"] for c in writable.get(CONTACTS, params={"archived": "true", "limit": "100"})
            .json()["results"]]  # fmt: skip
    assert ids[0] not in gone and ids[1] not in gone
    back = writable.get(f"/crm/v4/objects/contacts/{merged['id']}/associations/deals").json()
    assert [r["toObjectId"] for r in back["results"]] == [
        writable.account.deal_id_int(d) for d in deals]  # fmt: skip
    deal_side = writable.get(f"/crm/v4/objects/deals/{writable.account.deal_id(deals[0])}"
                             "/associations/contacts").json()  # fmt: skip
    assert int(merged["id"]) in [r["toObjectId"] for r in deal_side["results"]]
    assert not {int(i) for i in ids} & {r["toObjectId"] for r in deal_side["results"]}
    twice = writable.post(f"{CONTACTS}/merge", {"primaryObjectId": ids[0],
                                                "objectIdToMerge": merged["id"]})  # fmt: skip
    assert twice.status_code == 404
