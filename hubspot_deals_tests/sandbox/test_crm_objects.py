"""`CrmObjects` without a server: determinism by seed, the graph's invariants, unique emails,
stage walks and the write rules shared by the HubSpot and admin routes."""

from __future__ import annotations

import pytest

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.catalog import PIPELINES
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.object_types import SEEDED, resolve
from hubspot_sandbox.object_writes import WriteError, create, update


@pytest.fixture(scope="module")
def crm() -> CrmObjects:
    return CrmObjects(SandboxAccount(seed=9, deals=1_000))


def test_same_seed_same_objects_and_another_seed_differs(crm: CrmObjects) -> None:
    again = CrmObjects(SandboxAccount(seed=9, deals=1_000))
    other = CrmObjects(SandboxAccount(seed=10, deals=1_000))
    for kind in SEEDED:
        store = crm.stores[kind.name]
        assert [store.wire(i) for i in range(store.total)] == [
            again.stores[kind.name].wire(i) for i in range(store.total)]  # fmt: skip
        assert store.live_ids() != other.stores[kind.name].live_ids()
    links = [crm.associations.links(d, "contacts") for d in range(1_000)]
    assert links == [again.associations.links(d, "contacts") for d in range(1_000)]
    assert [crm.history.entries(d) for d in range(200)] == [
        again.history.entries(d) for d in range(200)]  # fmt: skip


def test_sizes_ids_and_times(crm: CrmObjects) -> None:
    sizes = {name: (s.count, len(s.archived_ids())) for name, s in crm.stores.items()}
    assert sizes == {"companies": (250, 8), "contacts": (500, 15), "line_items": (1_000, 30),
                     "leads": (100, 3)}  # fmt: skip
    for store in crm.stores.values():
        ids = [store.id_int(i) for i in range(store.total)]
        assert ids == sorted(set(ids))
        assert all(store.index_of(i) == k for k, i in enumerate(ids))
        for index in range(0, store.total, 37):
            values = store.properties(index)
            assert values["createdate"] <= values[store.kind.modified_property]
    assert resolve("0-1") is resolve("contact") is resolve("CONTACTS")
    assert resolve("0-136").name == "leads"


def test_graph_invariants(crm: CrmObjects) -> None:
    acc = crm.account
    owners = {}
    for deal in range(acc.deal_count):
        for item in crm.associations.links(deal, "line_items"):
            assert item not in owners  # every line item belongs to one deal
            owners[item] = deal
        companies = crm.associations.links(deal, "companies")
        primaries = [c for c, ids in companies.items() if 5 in ids]
        assert len(primaries) == (1 if companies else 0)
        assert all(341 in ids for ids in companies.values())
        assert all(3 in ids for ids in crm.associations.links(deal, "contacts").values())
    assert len(owners) == 1_000
    assert all(crm.associations.line_item_deal(i) == d for i, d in owners.items())
    contact = next(iter(crm.associations.links(0, "contacts")), None) or 0
    back = [d for d, _ in crm.links_of("contacts", contact, "deals")]
    assert back == sorted(d for d in range(acc.deal_count) if not acc.is_archived(d)
                          and contact in crm.associations.links(d, "contacts"))  # fmt: skip


def test_stage_walks_follow_the_pipeline(crm: CrmObjects) -> None:
    order = {s.id: (p.id, k, s.closed) for p in PIPELINES for k, s in enumerate(p.stages)}
    for deal in range(crm.account.deal_count):
        walk = crm.history.seeded_walk(deal)
        assert walk[-1] == crm.account.property_value(deal, "dealstage")
        assert len({order[s][0] for s in walk}) == 1
        assert all(not order[s][2] for s in walk[:-1])  # only the last stage may be closed
        steps = [order[b][1] - order[a][1] for a, b in zip(walk, walk[1:], strict=False)]
        assert all(step >= -1 for step in steps) and steps.count(-1) <= 1


def test_unique_emails_and_write_rules() -> None:
    crm = CrmObjects(SandboxAccount(seed=9, deals=200))
    contacts = crm.stores["contacts"]
    emails = [contacts.value(i, "email") for i in range(contacts.total)]
    assert len(set(emails)) == len(emails) == 100
    taken = contacts.value(contacts.index_of(contacts.live_ids()[0]), "email")
    with pytest.raises(WriteError) as conflict:
        create(contacts, {"email": taken.upper()}, 1_790_000_000_000)
    assert (conflict.value.status, conflict.value.existing_id) == (409, contacts.live_ids()[0])
    index = create(
        contacts, {"email": "x@example.org", "hs_email_optout": False}, 1_790_000_000_000
    )
    assert contacts.properties(index)["hs_email_optout"] == "false"
    assert contacts.find_unique("X@EXAMPLE.ORG") == index
    update(contacts, index, {"email": "y@example.org"}, 1_790_000_000_001)
    assert contacts.find_unique("x@example.org") is None
    contacts.archive(index, 1_790_000_000_002)
    assert contacts.find_unique("y@example.org") is None
    with pytest.raises(WriteError) as invalid:
        create(crm.stores["companies"], {"numberofemployees": "many"}, 1_790_000_000_000)
    assert "INVALID_DECIMAL" in invalid.value.message
