"""SandboxAccount: deterministic, HubSpot-shaped data, lazily generated, with a mutation overlay."""

from __future__ import annotations

import re

import orjson
import pytest

from hubspot_sandbox.account import (
    ALWAYS_INCLUDED,
    DEFAULT_PROPERTIES,
    InvalidChange,
    SandboxAccount,
    UnknownDeal,
)
from hubspot_sandbox.timestamps import ms_from_iso

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DAY = re.compile(r"\d{4}-\d\d-\d\d")
FROM_MS = ms_from_iso("2021-01-01T00:00:00.000Z")
UNTIL_MS = ms_from_iso("2026-07-01T00:00:00.000Z")


@pytest.fixture(scope="module")
def account() -> SandboxAccount:
    return SandboxAccount(seed=3, deals=4_000)


@pytest.fixture(scope="module")
def deals(account: SandboxAccount) -> list[dict]:
    return list(account.deals())


def test_same_seed_gives_byte_identical_data_and_another_seed_differs() -> None:
    def dump(seed: int) -> bytes:
        acc = SandboxAccount(seed=seed, deals=500)
        return orjson.dumps([list(acc), acc.property_definitions(), acc.pipelines(), acc.owners()])

    assert dump(5) == dump(5)
    assert dump(5) != dump(6)


def test_counts_ids_and_archived_share(account: SandboxAccount, deals: list[dict]) -> None:
    assert len(deals) == len(account) == 4_000
    assert account.archived_count == 200  # round(4000 * 0.05)
    assert account.live_count == 3_800
    ids = [int(d["id"]) for d in deals]
    assert ids == sorted(set(ids))
    assert 10_000_000_000 <= ids[0] < 10_000_000_064
    assert [d["id"] for d in deals if not d["archived"]] == account.live_deal_ids()
    assert [d["id"] for d in deals if d["archived"]] == account.archived_deal_ids()
    for index in (0, 1, 1234, 3999):
        assert account.index_of(account.deal_id(index)) == index
        assert account.deal_by_id(account.deal_id(index)) == deals[index]
    assert account.index_of(ids[0] + 1 if ids[1] != ids[0] + 1 else ids[0] - 1) is None
    assert account.index_of("not-a-number") is None


def test_wire_shape_and_timestamps(account: SandboxAccount, deals: list[dict]) -> None:
    names = account.property_names()
    assert len(names) == 17 + 60
    previous_created = 0
    for deal in deals:
        props = deal["properties"]
        assert list(props) == list(names)
        assert list(deal)[:5] == ["id", "properties", "createdAt", "updatedAt", "archived"]
        assert props["hs_object_id"] == deal["id"]
        assert deal["createdAt"] == props["createdate"]
        assert deal["updatedAt"] == props["hs_lastmodifieddate"]
        assert ISO_MS.fullmatch(props["createdate"]) and ISO_MS.fullmatch(deal["updatedAt"])
        created = ms_from_iso(props["createdate"])
        assert FROM_MS <= created < UNTIL_MS and created > previous_created
        previous_created = created
        assert created <= ms_from_iso(props["hs_lastmodifieddate"]) < UNTIL_MS
        if deal["archived"]:
            assert ms_from_iso(deal["archivedAt"]) >= ms_from_iso(deal["updatedAt"])
        else:
            assert "archivedAt" not in deal
        assert all(v is None or isinstance(v, str) for v in props.values())


def test_values_are_typed_strings_per_property_definition(
    account: SandboxAccount, deals: list[dict]
) -> None:
    definitions = {d["name"]: d for d in account.property_definitions()}
    kinds = {(d["type"], d["fieldType"]) for d in definitions.values()}
    assert kinds >= {
        ("string", "text"),
        ("string", "textarea"),
        ("number", "number"),
        ("enumeration", "select"),
        ("enumeration", "checkbox"),
        ("datetime", "date"),
        ("date", "date"),
        ("bool", "booleancheckbox"),
        ("phone_number", "phonenumber"),
    }
    seen_empty = seen_null = 0
    for deal in deals:
        for name, value in deal["properties"].items():
            if value is None:
                seen_null += 1
                continue
            if value == "":
                seen_empty += 1
                continue
            d = definitions[name]
            options = {o["value"] for o in d["options"]}
            if d["type"] == "number":
                float(value)
                assert "e" not in value.lower()
                assert "." not in value or not value.endswith("0"), (name, value)
            elif d["type"] == "datetime":
                assert ISO_MS.fullmatch(value), (name, value)
            elif d["type"] == "date":
                assert DAY.fullmatch(value), (name, value)
            elif d["type"] == "bool":
                assert value in ("true", "false")
            elif d["fieldType"] == "checkbox":
                parts = value.split(";")
                assert parts and set(parts) <= options and len(set(parts)) == len(parts)
            elif d["type"] == "enumeration" and not d["externalOptions"]:
                assert value in options, (name, value)
    assert seen_empty > 1_000 and seen_null > 10_000
    text = orjson.dumps(deals).decode()
    for needle in ("é", "ü", "日本語", "🚀", '\\"', "\\n", ",", ";"):
        assert needle in text, needle


def test_pipelines_stages_and_owners_are_consistent(
    account: SandboxAccount, deals: list[dict]
) -> None:
    pipelines = account.pipelines()
    assert [p["id"] for p in pipelines] == ["default", "75302811", "75302812"]
    assert [s["id"] for s in pipelines[0]["stages"]] == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    assert pipelines[0]["createdAt"] == "1970-01-01T00:00:00Z"
    assert all(s["id"].isdigit() for p in pipelines[1:] for s in p["stages"])
    stages = {s["id"]: (p["id"], s["metadata"]) for p in pipelines for s in p["stages"]}
    assert stages["qualifiedtobuy"][1] == {"isClosed": "false", "probability": "0.4"}
    owners = account.owners()
    assert len(owners) == 25 and all(not o["archived"] for o in owners)
    assert len(account.owners(archived=True)) == 2
    owner_ids = {o["id"] for o in owners}
    for deal in deals:
        p = deal["properties"]
        pipeline, metadata = stages[p["dealstage"]]
        assert p["pipeline"] == pipeline
        assert p["hs_is_closed"] == metadata["isClosed"]
        assert float(p["hs_deal_stage_probability"]) == float(metadata["probability"])
        assert p["hubspot_owner_id"] is None or p["hubspot_owner_id"] in owner_ids
        won = p["hs_is_closed_won"] == "true"
        assert (p["hs_closed_won_date"] is not None) == (won and p["closedate"] is not None)


def test_property_definitions_have_hubspots_fields() -> None:
    acc = SandboxAccount(seed=1, deals=10, custom_properties=400)
    definitions = acc.property_definitions()
    assert len(definitions) == 417
    assert len({d["name"] for d in definitions}) == 417
    required = {
        "name", "label", "type", "fieldType", "groupName", "description", "options",
        "hubspotDefined", "calculated", "hidden", "hasUniqueValue", "formField",
        "displayOrder", "externalOptions", "createdAt", "updatedAt", "archived",
        "modificationMetadata",
    }  # fmt: skip
    for d in definitions:
        assert required <= set(d), d["name"]
        assert set(d["modificationMetadata"]) == {
            "archivable",
            "readOnlyDefinition",
            "readOnlyValue",
        }
        for option in d["options"]:
            assert set(option) == {"label", "value", "description", "displayOrder", "hidden"}
    by_name = {d["name"]: d for d in definitions}
    assert by_name["hs_object_id"]["hasUniqueValue"] is True
    assert by_name["dealstage"]["hubspotDefined"] is True
    assert len(by_name["dealstage"]["options"]) == 7 + 6 + 4
    deal = acc.deal(3)
    assert len(deal["properties"]) == 417


def test_property_selection_matches_the_list_endpoint_rules(account: SandboxAccount) -> None:
    full = account.deal(10)
    default = account.deal(10, properties=[])
    assert set(default["properties"]) == set(DEFAULT_PROPERTIES)
    picked = account.deal(10, properties=["seats", "no_such_property", "dealname"])
    assert set(picked["properties"]) == {"seats", "dealname", *ALWAYS_INCLUDED}
    assert all(full["properties"][k] == v for k, v in picked["properties"].items())


def test_fast_json_encoding_equals_the_dict_form(account: SandboxAccount) -> None:
    selections = [None, account.property_names(), ["hs_closed_won_date"], ["seats", "dealname"]]
    account.modify([account.deal_id(5)], {"seats": "1"}, modified_at_ms=UNTIL_MS)
    for names in selections:
        selection = account.selection(names)
        encoded = account.deals_json(range(0, 4_000, 3), selection)
        for index, raw in zip(range(0, 4_000, 3), encoded, strict=True):
            assert raw == orjson.dumps(account.wire_deal(index, selection))


def test_modify_archive_bulk_edit_and_create() -> None:
    acc = SandboxAccount(seed=2, deals=300)
    first, second = acc.live_deal_ids()[:2]
    before = acc.deal_by_id(first)
    stamp_ms = ms_from_iso("2026-09-01T10:00:00.000Z")
    count, stamp = acc.modify([first], {"amount": 12.5, "is_strategic": True}, stamp_ms)
    after = acc.deal_by_id(first)
    assert (count, stamp) == (1, "2026-09-01T10:00:00.000Z")
    assert after["properties"]["amount"] == "12.5"
    assert after["properties"]["is_strategic"] == "true"
    assert after["updatedAt"] == after["properties"]["hs_lastmodifieddate"] == stamp
    assert after["createdAt"] == before["createdAt"]

    archived = acc.archive([second], archived_at_ms=stamp_ms)
    deal = acc.deal_by_id(second)
    assert archived == [second] and deal["archived"] is True
    assert deal["archivedAt"] == stamp
    assert deal["updatedAt"] == acc.deal_by_id(second)["properties"]["hs_lastmodifieddate"]
    assert second not in acc.live_deal_ids() and second in acc.archived_deal_ids()
    assert acc.archive([second]) == []

    edited, shared = acc.bulk_edit("dealtype", "newbusiness", count=50, modified_at_ms=stamp_ms + 1)
    live = [acc.deal_by_id(i) for i in acc.live_deal_ids()[:50]]
    assert edited == 50
    assert {d["properties"]["hs_lastmodifieddate"] for d in live} == {shared}
    assert {d["properties"]["dealtype"] for d in live} == {"newbusiness"}
    assert acc.deal_by_id(first)["properties"]["amount"] == "12.5"  # earlier edit kept

    new_ids = acc.create([{"dealname": "Brand new"}, {}], created_at_ms=stamp_ms + 2)
    assert len(new_ids) == 2 and int(new_ids[0]) > int(acc.deal_id(299))
    created = acc.deal_by_id(new_ids[0])
    assert created["properties"]["dealname"] == "Brand new"
    assert created["createdAt"] == created["updatedAt"] == "2026-09-01T10:00:00.002Z"
    assert acc.live_count == 300 - 15 - 1 + 2

    with pytest.raises(InvalidChange):
        acc.modify([first], {"hs_lastmodifieddate": "x"})
    with pytest.raises(InvalidChange):
        acc.modify([first], {"no_such_property": "x"})
    with pytest.raises(UnknownDeal):
        acc.archive(["123"])


def test_search_evaluates_a_query_once_for_all_its_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paging one query costs one evaluation until the account changes (what keeps the
    sandbox's search pages cheap; their speed is the benchmark's to measure)."""
    from hubspot_sandbox.search import DealSearch, SearchLimits, parse_search_request

    account = SandboxAccount(seed=3, deals=4_000)  # its own: it is changed below
    search = DealSearch(account)
    evaluated = []
    evaluate = search._evaluate
    monkeypatch.setattr(search, "_evaluate", lambda r: evaluated.append(r) or evaluate(r))
    body = {
        "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GT", "value": 10}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        "limit": 100,
    }
    pages = [
        search.run(parse_search_request({**body, "after": after}, SearchLimits()))
        for after in (0, 100, 200)
    ]
    assert len(evaluated) == 1
    total = pages[0][0]
    assert total > 300 and all(t == total for t, _ in pages)
    ids = [i for _, page in pages for i in page]
    assert len(ids) == len(set(ids)) == 300
    account.modify([account.deal_id(5)], {"amount": "12"})
    search.run(parse_search_request(body, SearchLimits()))
    assert len(evaluated) == 2
