"""Scans of the HubSpot sandbox over real HTTP, into DuckDB, through a real Dagster instance."""

import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import requests
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.defs.sensors import failure_of
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.expected import typed
from hubspot_sandbox.process import SandboxServer

RECORD = {"id", "created_at", "updated_at", "archived", "archived_at", "_unparsed", "_scan_chunk"}


def use(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def stats(sandbox: SandboxServer) -> dict[str, Any]:
    return requests.get(sandbox.url("/__sandbox/stats"), timeout=10).json()


def statuses(sandbox: SandboxServer) -> set[str]:
    return {code for counts in stats(sandbox)["requests"].values() for code in counts}


@pytest.mark.slow
def test_every_deal_and_value_of_a_seed(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(deals=3000, seed=11, tokens=[token]) as sandbox:
        use(sandbox, monkeypatch)
        outcome = execute_scan(instance, "seed-11", scan_run_config("org-1", token, None, True))
        assert outcome.success, outcome.error
        account = sandbox.account()
        assert statuses(sandbox) == {"200"}
    definitions = {d["name"]: d for d in account.property_definitions()}
    rows = scan_rows("deals", "seed-11")
    expected = sorted(account.deals(), key=lambda d: int(d["id"]))
    assert len(rows) == len(expected) == 3000
    assert sum(r["archived"] for r in rows) == account.archived_count == 150
    for row, deal in zip(sorted(rows, key=lambda r: int(r["id"])), expected, strict=True):
        assert row["id"] == deal["id"]
        assert row["archived"] == deal["archived"]
        assert row["created_at"] == datetime.fromisoformat(deal["createdAt"])
        assert row["_unparsed"] is None
        assert row["_organization_id"] == "org-1"
        for name, raw in deal["properties"].items():
            assert row[name] == typed(definitions[name], raw), (deal["id"], name, raw)
    # Every property of the portal is a column.
    assert set(rows[0]) - RECORD - {"_scan_id", "_organization_id", "_dlt_load_id", "_dlt_id"} \
        == set(definitions)  # fmt: skip
    assert outcome.deals_metadata["read_strategy"] == "list"
    # 2850 live deals in 29 list pages, 150 archived in 2, one search for the total, one
    # properties call, one pipelines call and two owner calls (active, archived).
    assert outcome.deals_metadata["hubspot_requests"] == 29 + 2 + 1 + 1 + 1 + 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sandbox_url_limit", "client_budget", "strategy", "refused"),
    [
        (16_300, "15000", "list", 0),  # 417 properties still fit in one list URL
        (6_000, "5900", "search", 0),  # too long for the budget: properties go in the body
        (4_000, "15000", "search", 1),  # HubSpot's limit below the budget: one 414, then body
    ],
)
def test_400_custom_properties_all_properties(
    instance: DagsterInstance, monkeypatch, sandbox_url_limit, client_budget, strategy, refused
) -> None:
    token = fake_token()
    with SandboxServer(
        deals=700, seed=3, tokens=[token], custom_properties=400, max_url_length=sandbox_url_limit
    ) as sandbox:
        use(sandbox, monkeypatch, HUBSPOT_DEALS_MAX_URL_LENGTH=client_budget)
        outcome = execute_scan(instance, "wide", scan_run_config("org", token, None, True))
        assert outcome.success, outcome.error
        counts = stats(sandbox)["requests"]
        live = sandbox.account().live_count
        properties = len(sandbox.account().property_definitions())
    refused_count = sum(c.get("414", 0) for c in counts.values())
    assert refused_count == refused
    rows = scan_rows("deals", "wide")
    assert len(rows) == 700
    assert properties == 417  # 17 standard deal properties and 400 custom ones
    assert len(set(rows[0]) - RECORD) == properties + 2  # and _scan_id, _organization_id
    if strategy == "search":
        # 665 live deals by search (4 pages of 200) and the archived ones by ids + batch/read.
        assert counts["POST /crm/v3/objects/deals/search"]["200"] == 1 + 4
        assert counts["POST /crm/v3/objects/deals/batch/read"]["200"] == 1
        assert live == 665


@pytest.mark.slow
def test_paces_to_the_burst_limit_without_429(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    # 20 requests per rolling second-and-a-half; the scan needs about 45.
    with SandboxServer(
        deals=4000, seed=5, tokens=[token], rate_limit=20, rate_limit_window_ms=1500
    ) as sandbox:
        use(sandbox, monkeypatch)
        outcome = execute_scan(instance, "paced", scan_run_config("org", token, None, True))
        assert outcome.success, outcome.error
        s = stats(sandbox)
    assert s["rateLimited"] == {"TEN_SECONDLY_ROLLING": 0, "SECONDLY": 0, "DAILY": 0}
    assert outcome.deals_metadata["hubspot_rate_limited"] == 0
    assert outcome.deals_metadata["hubspot_rate_limit"]["max"] == 20
    assert len(scan_rows("deals", "paced")) == 4000


@pytest.mark.slow
def test_paces_search_to_five_per_second(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(deals=5000, seed=5, tokens=[token], rate_limit=100) as sandbox:
        use(sandbox, monkeypatch)
        cfg = scan_run_config("org", token, start_date="2021-01-01", end_date="2030-12-31")
        outcome = execute_scan(instance, "search-paced", cfg)
        assert outcome.success, outcome.error
        s = stats(sandbox)
        live = sandbox.account().live_count
    assert s["rateLimited"]["SECONDLY"] == 0
    assert s["requests"]["POST /crm/v3/objects/deals/search"] == {"200": 1 + 24}
    assert len(scan_rows("deals", "search-paced")) == live == 4750


@pytest.mark.slow
def test_shared_bucket_429s_are_retried(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(
        deals=3000, seed=6, tokens=[token], rate_limit=15, rate_limit_window_ms=1000
    ) as sandbox:
        use(sandbox, monkeypatch)
        stop = threading.Event()

        def other_client() -> None:  # another app on the same token eats the bucket for 6 s
            with requests.Session() as s:
                deadline = time.monotonic() + 6
                while not stop.is_set() and time.monotonic() < deadline:
                    s.get(sandbox.url("/crm/v3/owners"), headers=sandbox.auth_headers(token))

        t = threading.Thread(target=other_client, daemon=True)
        t.start()
        try:
            outcome = execute_scan(instance, "shared", scan_run_config("org", token, None, True))
        finally:
            stop.set()
            t.join(10)
        assert outcome.success, outcome.error
    assert outcome.deals_metadata["hubspot_rate_limited"] > 0
    assert [r["id"] for r in scan_rows("deals", "shared")] == sorted(
        sandbox.account().live_deal_ids() + sandbox.account().archived_deal_ids()
    )


def test_injected_5xx_are_retried_with_exact_data(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(deals=2500, seed=8, tokens=[token], fault_rate=0.2, fault_seed=4) as sandbox:
        use(sandbox, monkeypatch)
        outcome = execute_scan(instance, "faulty", scan_run_config("org", token, None, True))
        assert outcome.success, outcome.error
        s = stats(sandbox)
        account = sandbox.account()
    assert s["faultsTotal"] > 0
    assert outcome.deals_metadata["hubspot_retried_errors"] == s["faultsTotal"]
    ids = [r["id"] for r in scan_rows("deals", "faulty")]
    assert ids == sorted(account.live_deal_ids() + account.archived_deal_ids())


def test_missing_deals_scope_fails_at_once(instance: DagsterInstance, monkeypatch, capfd) -> None:
    token = fake_token()
    scoped = f"{token}:crm.schemas.deals.read,crm.objects.owners.read"
    with SandboxServer(deals=300, seed=2, tokens=[scoped]) as sandbox:
        use(sandbox, monkeypatch)
        outcome = execute_scan(instance, "no-scope", scan_run_config("org", token))
        s = stats(sandbox)
    assert not outcome.success
    assert outcome.error.startswith("the HubSpot token lacks a scope for POST ")
    assert outcome.error.endswith("it needs crm.objects.deals.read" + outcome.error[
        outcome.error.index("it needs crm.objects.deals.read") + 31:])  # fmt: skip
    assert "crm.objects.deals.read" in outcome.error
    assert sum(c.get("403", 0) for c in s["requests"].values()) == 1  # not retried
    assert token not in outcome.error and token not in "".join(capfd.readouterr())


@pytest.mark.slow
def test_search_windows_past_the_10000_cap(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(deals=12_000, seed=9, archived_share=0.0, tokens=[token]) as sandbox:
        use(sandbox, monkeypatch)
        cfg = scan_run_config("org", token, start_date="2000-01-01", end_date="2099-12-31")
        outcome = execute_scan(instance, "windows", cfg)
        assert outcome.success, outcome.error
        s = stats(sandbox)
        ids = sandbox.account().live_deal_ids()
    assert "400" not in s["requests"]["POST /crm/v3/objects/deals/search"]
    # 12,000 deals: a 10,000-deal window (50 pages) and a 2,000-deal one (10), plus the total.
    assert s["requests"]["POST /crm/v3/objects/deals/search"]["200"] == 1 + 50 + 10
    assert [r["id"] for r in scan_rows("deals", "windows")] == sorted(ids)


def test_pipeline_filter_reads_only_that_pipeline(instance: DagsterInstance, monkeypatch) -> None:
    token = fake_token()
    with SandboxServer(deals=1500, seed=5, tokens=[token]) as sandbox:
        use(sandbox, monkeypatch)
        account = sandbox.account()
        deals = list(account.deals())
        counts = Counter(d["properties"]["pipeline"] for d in deals)
        pipeline = min(counts, key=counts.__getitem__)  # the smallest, so filtering shows
        cfg = scan_run_config(
            "org-1", token, ["dealname", "amount"], include_archived=True, pipeline=pipeline
        )
        outcome = execute_scan(instance, "one-pipeline", cfg)
        assert outcome.success, outcome.error
        searched = stats(sandbox)["requests"]
    expected = sorted(int(d["id"]) for d in deals if d["properties"]["pipeline"] == pipeline)
    rows = scan_rows("deals", "one-pipeline")
    assert sorted(int(r["id"]) for r in rows) == expected
    assert 0 < len(expected) < len(deals)
    # Archived deals come from the list API and are filtered here: the pipeline is requested.
    archived = [d for d in deals if d["archived"] and d["properties"]["pipeline"] == pipeline]
    assert sum(r["archived"] for r in rows) == len(archived) > 0
    assert {r["pipeline"] for r in rows} == {pipeline}
    live = len(expected) - len(archived)
    assert outcome.deals_metadata["read_strategy"] == "search"
    assert outcome.deals_metadata["expected_live_deals"] == live
    assert outcome.deals_metadata["filters"]["pipeline"] == pipeline
    # HubSpot applied the filter: search pages of 200 cover the pipeline's live deals only.
    assert sum(searched["POST /crm/v3/objects/deals/search"].values()) == 1 + -(-live // 200)


@pytest.mark.slow
def test_narrow_scan_into_a_table_widened_by_a_full_scan(
    instance: DagsterInstance, monkeypatch
) -> None:
    """A full scan of a portal with 1,000 custom properties widens the shared deals table; a
    scan of 3 properties of the same portal then loads into that 1,000-column table."""
    token = fake_token()
    narrow = ["dealname", "amount", "dealstage"]
    with SandboxServer(deals=5_000, seed=23, tokens=[token], custom_properties=1_000) as sandbox:
        use(sandbox, monkeypatch)
        # Every property of January 2021's deals (the wide scan), all 5,000 deals narrowly.
        wide = execute_scan(
            instance, "wide", scan_run_config("org", token, None, True, "2021-01-01", "2021-01-31")
        )
        assert wide.success, wide.error
        served_before = stats(sandbox)["dealsServed"]
        outcome = execute_scan(instance, "narrow", scan_run_config("org", token, narrow, True))
        assert outcome.success, outcome.error
        served_by_narrow = stats(sandbox)["dealsServed"] - served_before
        # A limit set too small for that table: a configuration error naming the setting,
        # which the resume sensor leaves alone (resuming would fail the same way).
        monkeypatch.setenv("HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT", "64MB")
        get_settings.cache_clear()
        small = execute_scan(instance, "narrow-64mb", scan_run_config("org", token, narrow, True))
        account = sandbox.account()
    # The test reads every column of the 1,026-column table back: its reader gets room for that.
    monkeypatch.setenv("HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT", "1GB")
    get_settings.cache_clear()
    definitions = {d["name"]: d for d in account.property_definitions()}
    assert len(definitions) == 1_017
    deals = sorted(account.deals(), key=lambda d: int(d["id"]))
    january = [d for d in deals if d["properties"]["createdate"] < "2021-02-01"]
    wide_rows = scan_rows("deals", "wide")
    assert [r["id"] for r in wide_rows] == [d["id"] for d in january] and len(january) == 78
    for row, deal in zip(wide_rows, january, strict=True):
        for name, raw in deal["properties"].items():
            assert row[name] == typed(definitions[name], raw), (deal["id"], name, raw)
    rows = scan_rows("deals", "narrow")
    # Every deal read once (and the one deal of the search for HubSpot's total).
    assert len(rows) == len(deals) == 5_000 and served_by_narrow == 5_001
    for row, deal in zip(rows, deals, strict=True):
        assert row["id"] == deal["id"] and row["archived"] == deal["archived"]
        for name in narrow:
            raw = deal["properties"][name]
            assert row[name] == typed(definitions[name], raw), (deal["id"], name, raw)
        assert row["closedate"] is None  # a column of the wide scan only
    assert not small.success
    assert small.error.startswith(
        "DuckDB ran out of memory: loading deals (1026 columns) did not fit in 64MB. "
        "Set HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT above 64MB"
    )
    assert failure_of(instance, small.run_id) == ("configuration_error", False)
