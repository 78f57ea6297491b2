"""POST /crm/v3/objects/deals/search over real HTTP, checked against a brute-force oracle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_deals_tests.sandbox.expected import Oracle, to_ms
from hubspot_sandbox.account import DEFAULT_PROPERTIES
from hubspot_sandbox.process import SandboxServer

SEARCH = "/crm/v3/objects/deals/search"


@pytest.fixture(scope="module")
def oracle(sandbox: Sandbox) -> Oracle:
    return Oracle(sandbox.account)


def search_all(sandbox: Sandbox, body: dict[str, Any], limit: int = 200) -> tuple[int, list[str]]:
    """(total, every id) of a search, paging with `after` until `paging` is absent."""
    ids: list[str] = []
    after: Any = 0
    while True:
        resp = sandbox.post(SEARCH, {**body, "limit": limit, "after": after})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        ids += [d["id"] for d in page["results"]]
        if "paging" not in page:
            return page["total"], ids
        after = page["paging"]["next"]["after"]
        assert after == str(len(ids))


def check(sandbox: Sandbox, oracle: Oracle, filters: list[dict[str, Any]], **sort: Any) -> int:
    expected = oracle.search([filters], **sort)
    body: dict[str, Any] = {"filterGroups": [{"filters": filters}]}
    if sort:
        body["sorts"] = [
            {
                "propertyName": sort["sort"],
                "direction": "DESCENDING" if sort.get("descending") else "ASCENDING",
            }
        ]
    total, ids = search_all(sandbox, body)
    assert total == len(expected)
    assert ids == expected, filters
    return total


def values(oracle: Oracle, name: str) -> list[str]:
    return sorted({d["properties"][name] for d in oracle.live if d["properties"][name]})


def test_every_operator_matches_the_oracle(sandbox: Sandbox, oracle: Oracle) -> None:
    amount = values(oracle, "amount")
    amounts = sorted(float(a) for a in amount)
    low, high = amounts[len(amounts) // 4], amounts[3 * len(amounts) // 4]
    region = values(oracle, "deal_region")
    module = next(v for v in values(oracle, "modules_included") if ";" not in v)
    cases = [
        {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"},
        {"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"},
        {"propertyName": "amount", "operator": "LT", "value": str(low)},
        {"propertyName": "amount", "operator": "LTE", "value": low},
        {"propertyName": "amount", "operator": "GT", "value": str(high)},
        {"propertyName": "amount", "operator": "GTE", "value": high},
        {"propertyName": "amount", "operator": "BETWEEN", "value": low, "highValue": str(high)},
        {"propertyName": "deal_region", "operator": "IN", "values": region[:2]},
        {"propertyName": "deal_region", "operator": "NOT_IN", "values": region[:2]},
        {"propertyName": "description", "operator": "HAS_PROPERTY"},
        {"propertyName": "description", "operator": "NOT_HAS_PROPERTY"},
        {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "renew*"},
        {"propertyName": "dealname", "operator": "NOT_CONTAINS_TOKEN", "value": "acme"},
        {"propertyName": "modules_included", "operator": "IN", "values": [module.upper()]},
        {"propertyName": "is_strategic", "operator": "EQ", "value": True},
        {"propertyName": "seats", "operator": "GT", "value": 50_000},
    ]
    totals = [check(sandbox, oracle, [f]) for f in cases]
    assert all(0 < t < sandbox.account.live_count for t in totals), str(totals)
    assert totals[0] + totals[1] == sandbox.account.live_count  # EQ + NEQ partition
    assert totals[9] + totals[10] == sandbox.account.live_count


def test_datetime_and_date_filters_accept_epoch_ms_and_iso(
    sandbox: Sandbox, oracle: Oracle
) -> None:
    cut = "2023-06-15T12:00:00.000Z"
    as_ms = to_ms(cut)
    by_number = check(
        sandbox, oracle, [{"propertyName": "createdate", "operator": "GTE", "value": as_ms}]
    )
    by_string = check(
        sandbox, oracle, [{"propertyName": "createdate", "operator": "GTE", "value": str(as_ms)}]
    )
    by_iso = check(
        sandbox, oracle, [{"propertyName": "createdate", "operator": "GTE", "value": cut}]
    )
    assert by_number == by_string == by_iso
    check(
        sandbox,
        oracle,
        [
            {"propertyName": "hs_lastmodifieddate", "operator": "BETWEEN",
             "value": to_ms("2024-01-01"), "highValue": to_ms("2024-12-31T23:59:59.999Z")},
            {"propertyName": "closedate", "operator": "LT", "value": "2025-01-01"},
        ],
    )  # fmt: skip
    check(
        sandbox, oracle, [{"propertyName": "renewal_date", "operator": "LT", "value": "2022-03-01"}]
    )
    check(
        sandbox,
        oracle,
        [
            {
                "propertyName": "renewal_date",
                "operator": "EQ",
                "value": to_ms(values(oracle, "renewal_date")[3]),
            }
        ],
    )


def test_groups_are_ored_filters_anded_and_legacy_filters_work(
    sandbox: Sandbox, oracle: Oracle
) -> None:
    a = [{"propertyName": "pipeline", "operator": "EQ", "value": "75302811"},
         {"propertyName": "hs_priority", "operator": "EQ", "value": "high"}]  # fmt: skip
    b = [{"propertyName": "dealtype", "operator": "EQ", "value": "existingbusiness"}]
    expected = oracle.search([a, b])
    total, ids = search_all(sandbox, {"filterGroups": [{"filters": a}, {"filters": b}]})
    assert (total, ids) == (len(expected), expected)
    legacy = [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": to_ms("2025-01-01")},
        {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": to_ms("2026-01-01")},
        {"propertyName": "hs_object_id", "operator": "GTE", "value": 0},
    ]
    body = {
        "filters": legacy,
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
    }
    total, ids = search_all(sandbox, body)
    expected = oracle.search([legacy], sort="hs_lastmodifieddate")
    assert (total, ids) == (len(expected), expected)


def test_sorting_by_each_type_both_directions(sandbox: Sandbox, oracle: Oracle) -> None:
    few = [{"propertyName": "pipeline", "operator": "EQ", "value": "75302812"}]
    for name in (
        "amount",
        "dealname",
        "hs_lastmodifieddate",
        "closedate",
        "renewal_date",
        "hs_object_id",
    ):
        for descending in (False, True):
            check(sandbox, oracle, few, sort=name, descending=descending)
    # String sorts: "-createdate" is descending createdate.
    expected = oracle.search([few], sort="createdate", descending=True)
    total, ids = search_all(sandbox, {"filterGroups": [{"filters": few}], "sorts": ["-createdate"]})
    assert ids == expected


def test_empty_body_defaults_and_archived_never_returned(sandbox: Sandbox, oracle: Oracle) -> None:
    acc = sandbox.account
    resp = sandbox.post(SEARCH, {})
    body = resp.json()
    assert resp.status_code == 200
    assert body["total"] == acc.live_count
    assert [d["id"] for d in body["results"]] == acc.live_deal_ids()[:10]
    assert body["paging"] == {"next": {"after": "10"}}
    first = body["results"][0]
    assert set(first["properties"]) == set(DEFAULT_PROPERTIES)
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    archived = set(acc.archived_deal_ids())
    total, ids = search_all(
        sandbox,
        {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]}
            ]
        },
    )
    assert total == acc.live_count and not archived & set(ids)
    assert ids == acc.live_deal_ids()
    empty = sandbox.post(
        SEARCH,
        {
            "filterGroups": [
                {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "nope"}]}
            ]
        },
    )
    assert empty.json() == {"total": 0, "results": []}


def test_properties_in_the_body_and_after_as_int_or_string(sandbox: Sandbox) -> None:
    acc = sandbox.account
    names = ["seats", "dealname", "no_such_property"]
    by_int = sandbox.post(SEARCH, {"properties": names, "limit": 5, "after": 20}).json()
    by_str = sandbox.post(SEARCH, {"properties": names, "limit": "5", "after": "20"}).json()
    assert by_int == by_str
    assert by_int["results"] == [acc.deal_by_id(i, names) for i in acc.live_deal_ids()[20:25]]


def test_id_windows_sorted_by_id_page_past_the_cap(sandbox: Sandbox) -> None:
    """The pattern extractors use to get past 10,000 results: windows of hs_object_id > last."""
    acc = sandbox.account
    last, seen = 0, []
    while True:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_object_id", "operator": "GT", "value": str(last)}
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": ["hs_object_id"],
            "limit": 200,
        }
        page = sandbox.post(SEARCH, body).json()
        if not page["results"]:
            break
        assert page["total"] == acc.live_count - len(seen)
        seen += [d["id"] for d in page["results"]]
        last = int(seen[-1])
    assert seen == acc.live_deal_ids()


def test_validation_errors(sandbox: Sandbox) -> None:
    f = {"propertyName": "amount", "operator": "GT", "value": "1"}
    bad_bodies = [
        {"query": "x" * 3001},
        {"filterGroups": [{"filters": [f]}] * 6},
        {"filterGroups": [{"filters": [f] * 7}]},
        {"filterGroups": [{"filters": [f] * 5}] * 4},  # 20 filters > 18
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "LIKE", "value": "1"}]}
            ]
        },
        {"filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GT"}]}]},
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "GT", "value": "abc"}]}
            ]
        },
        {"after": 9_801, "limit": 200},
        {"after": "x"},
    ]
    for body in bad_bodies:
        resp = sandbox.post(SEARCH, body)
        assert resp.status_code == 400, body
        error = resp.json()
        assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
        assert error["correlationId"] == resp.headers["X-HubSpot-Correlation-Id"]
    ok = [
        {"query": "x" * 3000},
        {"filterGroups": [{"filters": [f] * 6}] * 3},
        {"after": 9_800, "limit": 200},
    ]
    for body in ok:
        assert sandbox.post(SEARCH, body).status_code == 200, body
    assert sandbox.post(SEARCH, {"after": 9_800, "limit": 200}).json()["results"] == []


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[SandboxServer, str]]:
    token = make_token()
    with SandboxServer(deals=200_000, seed=3, tokens=[token]) as server:
        yield server, token


def test_paging_one_query_stops_at_10000_with_a_400(big: tuple[SandboxServer, str]) -> None:
    server, token = big
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[str] = []
    after = "0"
    with requests.Session() as s:
        while True:
            resp = s.post(
                server.url(SEARCH),
                json={"limit": 200, "after": after, "properties": ["hs_object_id"]},
                headers=headers,
                timeout=30,
            )
            if resp.status_code == 400:
                break
            page = resp.json()
            assert page["total"] == 190_000
            ids += [d["id"] for d in page["results"]]
            after = page["paging"]["next"]["after"]
    assert len(ids) == 10_000 and after == "10000"
    assert resp.json()["category"] == "VALIDATION_ERROR"
    assert ids == server.account().live_deal_ids()[:10_000]


def test_search_pages_a_large_account(big: tuple[SandboxServer, str]) -> None:
    """Pages of a window and of a residual query over 200,000 deals. How fast the sandbox
    answers is the benchmark's to measure (bench/sandbox_serving_bench.py), not a test's."""
    server, token = big
    acc = server.account()
    headers = {"Authorization": f"Bearer {token}"}
    window = {
        "filterGroups": [{"filters": [
            {"propertyName": "createdate", "operator": "GTE", "value": to_ms("2022-01-01")},
            {"propertyName": "createdate", "operator": "LTE", "value": to_ms("2025-12-31")},
            {"propertyName": "hs_object_id", "operator": "GT", "value": acc.deal_id(150_000)},
        ]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": list(acc.property_names()),
        "limit": 200,
    }  # fmt: skip
    residual = {
        "filterGroups": [{"filters": [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE",
             "value": to_ms("2026-01-01")},
            {"propertyName": "seats", "operator": "GT", "value": 90_000},
        ]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        "limit": 200,
    }  # fmt: skip
    with requests.Session() as s:
        for body in (window, residual):
            first = s.post(server.url(SEARCH), json=body, headers=headers, timeout=60)
            again = s.post(
                server.url(SEARCH), json={**body, "after": 200}, headers=headers, timeout=60
            )
            assert first.status_code == again.status_code == 200
            first_ids = [d["id"] for d in first.json()["results"]]
            again_ids = [d["id"] for d in again.json()["results"]]
            assert len(first_ids) == len(again_ids) == 200 and not set(first_ids) & set(again_ids)
    results = first.json()["results"]
    assert len(results) == 200
    stamps = [d["properties"]["hs_lastmodifieddate"] for d in results]
    assert stamps == sorted(stamps, reverse=True) and stamps[-1] >= "2026-01-01"
