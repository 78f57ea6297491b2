"""v4 association reads with labels, v3 inline associations, and association changes made
through the admin routes, checked against `CrmObjects`' graph."""

from __future__ import annotations

import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.process import SandboxServer

LABELS = {
    ("deals", "companies"): [("HUBSPOT_DEFINED", 5, "Primary"), ("HUBSPOT_DEFINED", 341, None),
                             ("USER_DEFINED", 26, "Reseller")],
    ("contacts", "deals"): [("HUBSPOT_DEFINED", 4, None), ("USER_DEFINED", 23, "Decision maker"),
                            ("USER_DEFINED", 25, "Champion")],
    ("deals", "line_items"): [("HUBSPOT_DEFINED", 19, None)],
}  # fmt: skip
LABEL_OF = {5: "Primary", 341: None, 26: "Reseller", 3: None, 22: "Decision maker",
            24: "Champion", 19: None}  # fmt: skip
CATEGORY = {26: "USER_DEFINED", 22: "USER_DEFINED", 24: "USER_DEFINED"}


def v4_expected(sandbox: Sandbox, deal: int, to: str) -> list[dict]:
    store = sandbox.crm.stores[to]
    return [
        {"toObjectId": store.id_int(target),
         "associationTypes": [{"category": CATEGORY.get(i, "HUBSPOT_DEFINED"), "typeId": i,
                               "label": LABEL_OF[i]} for i in ids]}
        for target, ids in sorted(sandbox.crm.deal_links(deal, to).items())
    ]  # fmt: skip


def test_labels_of_each_pair(sandbox: Sandbox) -> None:
    for (source, target), expected in LABELS.items():
        body = sandbox.get(f"/crm/v4/associations/{source}/{target}/labels").json()
        assert [(t["category"], t["typeId"], t["label"]) for t in body["results"]] == expected
    by_id = sandbox.get("/crm/v4/associations/0-3/0-2/labels").json()
    assert [t["typeId"] for t in by_id["results"]] == [5, 341, 26]


def test_v4_per_deal_reads_match_the_graph(sandbox: Sandbox) -> None:
    acc = sandbox.account
    checked = {"companies": 0, "contacts": 0, "line_items": 0}
    for deal in range(0, 300):
        if acc.is_archived(deal):
            continue
        for to in checked:
            resp = sandbox.get(f"/crm/v4/objects/deals/{acc.deal_id(deal)}/associations/{to}")
            assert resp.status_code == 200
            assert resp.json() == {"results": v4_expected(sandbox, deal, to)}
            checked[to] += len(resp.json()["results"])
    assert checked == {"companies": 338, "contacts": 430, "line_items": 280}


def test_v4_batch_read_per_deal_with_207_for_deals_without_any(sandbox: Sandbox) -> None:
    acc = sandbox.account
    deals = [d for d in range(120) if not acc.is_archived(d)]
    body = {"inputs": [{"id": acc.deal_id(d)} for d in deals]}
    resp = sandbox.post("/crm/v4/associations/deals/contacts/batch/read", body)
    answer = resp.json()
    with_links = [d for d in deals if sandbox.crm.deal_links(d, "contacts")]
    without = [acc.deal_id(d) for d in deals if d not in with_links]
    assert resp.status_code == 207 and answer["numErrors"] == len(without) == 20
    assert answer["results"] == [
        {"from": {"id": acc.deal_id(d)}, "to": v4_expected(sandbox, d, "contacts")}
        for d in with_links
    ]
    assert [e["context"]["fromObjectId"][0] for e in answer["errors"]] == without
    assert answer["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    over = sandbox.post("/crm/v4/associations/deals/contacts/batch/read",
                        {"inputs": [{"id": "1"}] * 1_001})  # fmt: skip
    assert over.status_code == 400


def test_the_other_direction_lists_the_deals(sandbox: Sandbox) -> None:
    acc, crm = sandbox.account, sandbox.crm
    contacts = crm.stores["contacts"]
    contact = contacts.index_of(contacts.live_ids()[3])
    deals = [d for d in range(acc.total_deals) if not acc.is_archived(d)
             and contact in crm.deal_links(d, "contacts")]  # fmt: skip
    resp = sandbox.get(f"/crm/v4/objects/contacts/{contacts.record_id(contact)}/associations/deals")
    inverse = {3: 4, 22: 23, 24: 25}
    assert [r["toObjectId"] for r in resp.json()["results"]] == [acc.deal_id_int(d) for d in deals]
    assert [[t["typeId"] for t in r["associationTypes"]] for r in resp.json()["results"]] == [
        [inverse[i] for i in crm.deal_links(d, "contacts")[contact]] for d in deals]  # fmt: skip
    assert len(deals) == 3


def test_v3_inline_associations_on_deal_pages(sandbox: Sandbox) -> None:
    acc, crm = sandbox.account, sandbox.crm
    page = sandbox.get(
        "/crm/v3/objects/deals",
        params={"limit": "100", "associations": "companies,contacts", "properties": "dealname"},
    ).json()
    names = {5: "deal_to_company", 341: "deal_to_company_unlabeled", 3: "deal_to_contact"}
    seen_twice = 0
    for deal in page["results"]:
        index = acc.index_of(deal["id"])
        expected = {}
        for to in ("companies", "contacts"):
            store = crm.stores[to]
            entries = [{"id": store.record_id(t), "type": names[i]}
                       for t, ids in sorted(crm.deal_links(index, to).items())
                       for i in ids if i in names]  # fmt: skip
            if entries:
                expected[to] = {"results": entries}
        assert deal.get("associations", {}) == expected
        ids = [e["id"] for e in expected.get("companies", {}).get("results", [])]
        seen_twice += len(ids) - len(set(ids))
    assert seen_twice == 84  # the primary company is listed twice, as on HubSpot
    no_assoc = sandbox.get("/crm/v3/objects/deals", params={"limit": "3"}).json()
    assert all("associations" not in d for d in no_assoc["results"])


def test_admin_association_changes_do_not_touch_modified_dates() -> None:
    token = make_token()
    with SandboxServer(deals=300, seed=3, tokens=[token]) as server, requests.Session() as s:
        crm = server.crm()
        acc = crm.account
        headers = {"Authorization": f"Bearer {token}"}
        deal = next(d for d in range(300) if not acc.is_archived(d)
                    and len(crm.deal_links(d, "companies")) == 1)  # fmt: skip
        companies = crm.stores["companies"]
        (old,) = crm.deal_links(deal, "companies")
        new = next(c for c in companies.live_indexes() if c != old)
        before = s.get(server.url(f"/crm/v3/objects/deals/{acc.deal_id(deal)}"), headers=headers)
        result = server.admin("POST", "associations", {
            "dealId": acc.deal_id(deal), "toObjectType": "companies",
            "toObjectId": companies.record_id(new), "typeIds": [5, 341, 26]})  # fmt: skip
        assert result["links"] == {companies.record_id(old): [341],
                                   companies.record_id(new): [5, 341, 26]}  # fmt: skip
        server.admin("POST", "associations", {
            "dealId": acc.deal_id(deal), "toObjectType": "company",
            "toObjectId": companies.record_id(old), "typeIds": []})  # fmt: skip
        v4 = s.get(server.url(f"/crm/v4/objects/deals/{acc.deal_id(deal)}/associations/companies"),
                   headers=headers).json()  # fmt: skip
        assert [(r["toObjectId"], [t["typeId"] for t in r["associationTypes"]])
                for r in v4["results"]] == [(companies.id_int(new), [5, 341, 26])]  # fmt: skip
        after = s.get(server.url(f"/crm/v3/objects/deals/{acc.deal_id(deal)}"), headers=headers)
        assert after.json()["updatedAt"] == before.json()["updatedAt"]
        # archiving the company drops the link from every read
        server.admin("POST", "objects/companies/archive", {"ids": [companies.record_id(new)]})
        v4 = s.get(server.url(f"/crm/v4/objects/deals/{acc.deal_id(deal)}/associations/companies"),
                   headers=headers).json()  # fmt: skip
        assert v4 == {"results": []}
        bumped = server.admin("POST", "associations", {
            "dealId": acc.deal_id(deal), "toObjectType": "contacts", "bumpModified": True,
            "toObjectId": crm.stores["contacts"].live_ids()[0], "typeIds": [3],
            "modifiedAt": "2026-07-02T00:00:00Z"})  # fmt: skip
        assert bumped["toObjectType"] == "contacts"
        after = s.get(server.url(f"/crm/v3/objects/deals/{acc.deal_id(deal)}"), headers=headers)
        assert after.json()["updatedAt"] == "2026-07-02T00:00:00.000Z"


def test_more_than_500_associations_page_in_v4_and_cap_at_100_inline() -> None:
    token = make_token()
    with SandboxServer(deals=2_000, seed=3, tokens=[token]) as server, requests.Session() as s:
        crm = server.crm()
        acc, contacts = crm.account, crm.stores["contacts"]
        deal = next(d for d in range(2_000) if not acc.is_archived(d))
        targets = [contacts.record_id(c) for c in list(contacts.live_indexes())[:620]]
        server.admin("POST", "associations", {"dealId": acc.deal_id(deal), "typeIds": [3],
                                              "toObjectType": "contacts",
                                              "toObjectIds": targets})  # fmt: skip
        seeded = [contacts.record_id(c) for c in crm.deal_links(deal, "contacts")]
        expected = sorted({*targets, *seeded}, key=int)
        headers = {"Authorization": f"Bearer {token}"}
        url = server.url(f"/crm/v4/objects/deals/{acc.deal_id(deal)}/associations/contacts")
        first = s.get(url, headers=headers).json()
        assert len(first["results"]) == 500
        second = s.get(url, params={"after": first["paging"]["next"]["after"]}, headers=headers)
        assert "paging" not in second.json()
        got = [r["toObjectId"] for r in first["results"] + second.json()["results"]]
        assert got == [int(i) for i in expected] and len(got) == 621
        batch = "/crm/v4/associations/deals/contacts/batch/read"
        page1 = s.post(server.url(batch), json={"inputs": [{"id": acc.deal_id(deal)}]},
                       headers=headers).json()["results"][0]  # fmt: skip
        assert len(page1["to"]) == 500 and page1["paging"]["next"]["after"] == "500"
        page2 = s.post(
            server.url(batch),
            json={"inputs": [{"id": acc.deal_id(deal), "after": "500"}]},
            headers=headers,
        ).json()["results"][0]
        assert [t["toObjectId"] for t in page1["to"] + page2["to"]] == got  # fmt: skip
        inline = s.get(
            server.url(f"/crm/v3/objects/deals/{acc.deal_id(deal)}"),
            params={"associations": "contacts"},
            headers=headers,
        ).json()
        block = inline["associations"]["contacts"]
        assert len(block["results"]) == 100
        assert block["paging"]["next"]["link"].startswith(
            f"{server.base_url}/crm/v3/objects/0-3/{acc.deal_id(deal)}/associations/0-1?after="
        )
        v3 = s.get(block["paging"]["next"]["link"], headers=headers).json()
        assert [r["id"] for r in v3["results"]] == expected[100:600]
