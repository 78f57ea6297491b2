"""A rate-limited full scan reads through both of HubSpot's buckets at once, exactly once each
deal, and the deal reader process ships typed batches (or HubSpot's errors) to the scan."""

import time

import pytest
import requests
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import CrmProperty, ObjectTableBuilder
from hubspot_deals.source.errors import HubSpotAuthenticationError
from hubspot_deals.source.reader import ObjectReader, ScanFilter
from hubspot_deals.source.reader_process import ReaderProcess, typed_batches
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_sandbox.process import SandboxServer

PROPERTIES = ["dealname", "amount", "closedate"]


def _reader(sandbox: SandboxServer, token: str, **filters: object) -> ObjectReader:
    client = HubSpotClient(token, sandbox.base_url)
    client.get("/crm/v3/properties/deals")  # learns the token's burst limit, as a scan does
    return ObjectReader(client, PROPERTIES, ScanFilter(**filters))


def _served(sandbox: SandboxServer) -> dict:
    return requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()


def test_list_and_search_meet_without_reading_a_deal_twice() -> None:
    token = fake_token()
    with SandboxServer(deals=6_000, seed=31, tokens=[token], rate_limit=100) as sandbox:
        reader = _reader(sandbox, token, include_archived=True)
        sandbox.reset_stats()
        pages = list(reader.pages())
        served = _served(sandbox)
        account = sandbox.account()
    ids = [d["id"] for page, _, _ in pages for d in page]
    assert reader.live_strategy == "list+search"
    assert sorted(ids) == sorted(account.live_deal_ids() + account.archived_deal_ids())
    assert len(ids) == len(set(ids)) == 6_000
    searched = served["requests"]["POST /crm/v3/objects/deals/search"]["200"]
    listed = served["requests"]["GET /crm/v3/objects/deals"]["200"]
    assert searched >= 5 and listed >= 20  # both buckets did a share of the 5,700 live deals
    assert served["rateLimited"] == {"TEN_SECONDLY_ROLLING": 0, "SECONDLY": 0, "DAILY": 0}
    # Where they met, at most the page in flight on each side was read for nothing.
    assert served["dealsServed"] - 6_000 <= 100 + 200
    assert pages[-1][1] == {"phase": "done"}


@pytest.mark.parametrize("stop_after", [1_000, 3_000, 5_500])
def test_a_cursor_from_both_buckets_resumes_exactly(stop_after: int) -> None:
    token = fake_token()
    with SandboxServer(deals=6_000, seed=32, tokens=[token], rate_limit=100) as sandbox:
        first: list[str] = []
        cursor: dict | None = None
        pages = _reader(sandbox, token).pages()
        for page, page_cursor, _ in pages:
            first += [d["id"] for d in page]
            cursor = page_cursor
            if len(first) >= stop_after:
                break
        pages.close()
        assert cursor is not None and "below" in cursor and "after" in cursor
        rest = [d["id"] for page, _, _ in _reader(sandbox, token).pages(cursor) for d in page]
        live = sandbox.account().live_deal_ids()
    assert sorted(first + rest) == sorted(live)
    assert len(first) + len(rest) == len(live) == 5_700


def test_unthrottled_reads_by_list_alone() -> None:
    token = fake_token()
    with SandboxServer(deals=1_000, seed=33, tokens=[token]) as sandbox:
        reader = _reader(sandbox, token)
        sandbox.reset_stats()
        ids = [d["id"] for page, _, _ in reader.pages() for d in page]
        served = _served(sandbox)
    assert reader.live_strategy == "list"
    assert "POST /crm/v3/objects/deals/search" not in served["requests"]
    assert len(ids) == served["dealsServed"] == 950


def test_typed_batches_never_mix_phases() -> None:
    builder = ObjectTableBuilder([CrmProperty("amount", "number")], "s", "o")

    def deal(i: int) -> dict:
        return {"id": str(i), "properties": {"amount": str(i)}, "archived": False}

    pages = [
        ([deal(1), deal(2)], {"phase": "live", "after": "a", "last_id": 2}, "live"),
        ([deal(3)], {"phase": "archived"}, "live"),
        ([], {"phase": "archived", "after": "b", "last_id": 9}, "archived"),
        ([deal(10)], {"phase": "done"}, "archived"),
    ]
    batches = list(typed_batches(iter(pages), builder, deals_per_batch=2))
    assert [(b.phase, b.table.column("id").to_pylist(), b.cursor) for b in batches] == [
        ("live", ["1", "2"], {"phase": "live", "after": "a", "last_id": 2}),
        ("live", ["3"], {"phase": "archived"}),
        ("archived", ["10"], {"phase": "done"}),
    ]


def test_a_slow_read_ships_smaller_batches_on_time() -> None:
    builder = ObjectTableBuilder([CrmProperty("amount", "number")], "s", "o")

    def slow_pages():  # noqa: ANN202
        for i in range(1, 4):
            time.sleep(0.05)  # a rate-limited HubSpot: pages come slowly
            cursor = {"phase": "live", "after": str(i), "last_id": i}
            yield [{"id": str(i), "properties": {"amount": "1"}, "archived": False}], cursor, "live"

    batches = list(typed_batches(slow_pages(), builder, deals_per_batch=2_000, batch_seconds=0.04))
    assert [b.table.column("id").to_pylist() for b in batches] == [["1"], ["2"], ["3"]]
    assert [b.cursor["after"] for b in batches] == ["1", "2", "3"]


def test_reader_process_ships_typed_batches_and_counts_its_requests() -> None:
    token = fake_token()
    with SandboxServer(deals=4_500, seed=34, tokens=[token]) as sandbox:
        reader = _reader(sandbox, token)
        definitions = reader.client.get("/crm/v3/properties/deals")["results"]
        wanted = [d for d in definitions if d["name"] in PROPERTIES]
        builder = ObjectTableBuilder([CrmProperty.from_definition(d) for d in wanted], "s", "o")
        before = reader.client.stats["requests"]
        process = ReaderProcess(reader.client, builder, reader)
        batches = list(process.batches({"phase": "live"}))
        live = sandbox.account().live_deal_ids()
    assert [b.table.num_rows for b in batches] == [2_000, 2_000, 275]
    assert batches[-1].cursor == {"phase": "done"}
    assert [i for b in batches for i in b.table.column("id").to_pylist()] == live
    assert batches[0].table.schema == builder.schema
    assert reader.client.stats["requests"] - before == 43  # 4,275 live deals, 100 a page
    assert reader.live_strategy == "list"


def test_reader_process_raises_hubspots_error_in_the_scan() -> None:
    token = fake_token()
    with SandboxServer(deals=500, seed=35, tokens=[token]) as sandbox:
        reader = _reader(sandbox, token)
        builder = ObjectTableBuilder([CrmProperty("amount", "number")], "s", "o")
        requests.post(sandbox.url(f"/__sandbox/tokens/{token}/revoke"), timeout=5)
        with pytest.raises(HubSpotAuthenticationError) as caught:
            list(ReaderProcess(reader.client, builder, reader).batches({"phase": "live"}))
    assert str(caught.value).startswith("HubSpot rejected the access token (401")
    assert caught.value.status == 401 and token not in str(caught.value)


@pytest.mark.slow
def test_throttled_scan_uses_both_buckets(instance: DagsterInstance, monkeypatch) -> None:
    from hubspot_deals.settings import get_settings

    token = fake_token()
    with SandboxServer(deals=8_000, seed=36, tokens=[token], rate_limit=100) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        outcome = execute_scan(instance, "both", scan_run_config("org", token))
        assert outcome.success, outcome.error
        served = _served(sandbox)
        live = sandbox.account().live_deal_ids()
    assert outcome.deals_metadata["read_strategy"] == "list+search"
    assert sum(served["rateLimited"].values()) == 0
    assert outcome.deals_metadata["hubspot_requests"] == served["requestsTotal"]
    assert [r["id"] for r in scan_rows("deals", "both")] == sorted(live)
