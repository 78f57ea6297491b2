"""Where a portal counts searches in the ten-secondly bucket too, the client learns it from the
first answers to a search and paces both readers on that one bucket; where search has its own
bucket (HubSpot's documented model), it keeps pacing them apart. Either way a throttled scan
reads every deal once with at most one 429 per 1,000 requests."""

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import CrmProperty, ObjectTableBuilder
from hubspot_deals.source.pacing import RateLimitBuckets
from hubspot_deals.source.reader import ObjectReader, ScanFilter
from hubspot_deals.source.reader_process import ReaderProcess
from hubspot_deals_tests.conftest import fake_token
from hubspot_sandbox.process import SandboxServer

PROPERTIES = ["dealname", "amount", "closedate"]
TEN_SECONDLY = {
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Max": "100",
    "X-HubSpot-RateLimit-Remaining": "97",
}


def _429(policy: str, group: str | None) -> dict:
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": policy}
    return body if group is None else {**body, "groupName": group}


@pytest.mark.parametrize(
    ("search", "headers", "rate_limited", "model", "learned_from"),
    [
        (True, TEN_SECONDLY, None, "shared", "headers"),
        (True, {"X-HubSpot-RateLimit-Daily-Remaining": "9"}, None, "separate", None),
        (True, {}, None, "separate", None),
        (False, TEN_SECONDLY, None, "separate", None),  # list answers always carry them
        (True, {}, _429("TEN_SECONDLY_ROLLING", None), "shared", "429"),
        (True, {}, _429("", "publicapi:private_app-api-calls-ten-secondly:1:2"), "shared", "429"),
        (True, {}, _429("SECONDLY", "publicapi:hapikey-secondly:2431623"), "separate", None),
        (False, {}, _429("TEN_SECONDLY_ROLLING", None), "separate", None),
    ],
)
def test_the_search_model_is_learned_from_the_answers_to_searches(
    search: bool, headers: dict, rate_limited: dict | None, model: str, learned_from: str | None
) -> None:
    buckets = RateLimitBuckets(5)
    learned = buckets.learn(search, CaseInsensitiveDict(headers), rate_limited)
    assert (buckets.search_model, buckets.learned_from, learned) == (
        model,
        learned_from,
        model == "shared",
    )
    expected = (buckets.search, buckets.burst) if model == "shared" else (buckets.search,)
    assert buckets.pacers(search=True) == expected
    assert buckets.pacers(search=False) == (buckets.burst,)
    if model == "shared":  # learned once: a later answer reports nothing new
        assert not buckets.learn(True, CaseInsensitiveDict(TEN_SECONDLY), None)
    # A reader process starts knowing what this one learned.
    child = RateLimitBuckets(5)
    child.restore(buckets.state())
    assert child.search_model == buckets.search_model


def _served(sandbox: SandboxServer) -> dict:
    return requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()


def test_a_shared_bucket_is_learned_at_the_first_search_and_paces_both_readers() -> None:
    token = fake_token()
    with SandboxServer(
        deals=6_000, seed=41, tokens=[token], rate_limit=100, search_bucket="shared"
    ) as sandbox:
        client = HubSpotClient(token, sandbox.base_url)
        client.get("/crm/v3/properties/deals")
        reader = ObjectReader(client, PROPERTIES, ScanFilter())
        assert reader.expected_live_total() == 5_700  # the scan's first search
        assert client.stats["search_bucket_shared_at_request"] == 2
        ids = [d["id"] for page, _, _ in reader.pages() for d in page]
        served = _served(sandbox)
        live = sandbox.account().live_deal_ids()
    assert reader.live_strategy == "list+search"  # 200-deal pages still pay on one bucket
    assert sorted(ids) == sorted(live) and len(ids) == 5_700
    assert served["rateLimited"] == {"TEN_SECONDLY_ROLLING": 0, "SECONDLY": 0, "DAILY": 0}
    assert client.stats["rate_limited"] == 0
    assert client.rate_limit["search_bucket"] == "shared"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["separate", "shared"])
def test_a_throttled_scan_on_either_bucket_model(model: str) -> None:
    """HubSpot's numbers (100 requests per 10 s, search 5 per second), read by the scan's reader
    process: several hundred requests, every deal once, at most one 429 per 1,000 requests."""
    token = fake_token()
    with SandboxServer(
        deals=48_000, seed=42, tokens=[token], rate_limit=100, search_bucket=model
    ) as sandbox:
        client = HubSpotClient(token, sandbox.base_url)
        definitions = client.get("/crm/v3/properties/deals")["results"]
        wanted = [d for d in definitions if d["name"] in PROPERTIES]
        builder = ObjectTableBuilder([CrmProperty.from_definition(d) for d in wanted], "s", "o")
        reader = ObjectReader(client, PROPERTIES, ScanFilter())
        assert reader.expected_live_total() == 45_600
        batches = list(ReaderProcess(client, builder, reader).batches({"phase": "live"}))
        served = _served(sandbox)
        live = sandbox.account().live_deal_ids()
    ids = [i for b in batches for i in b.table.column("id").to_pylist()]
    assert sorted(ids) == sorted(live) and len(ids) == 45_600
    assert reader.live_strategy == "list+search"
    assert client.stats["requests"] == served["requestsTotal"] >= 300
    rejected = sum(served["rateLimited"].values())
    assert rejected == client.stats["rate_limited"]
    assert rejected * 1_000 <= served["requestsTotal"]
    if model == "shared":
        assert client.stats["search_bucket_shared_at_request"] == 2
    else:
        assert "search_bucket_shared_at_request" not in client.stats
    assert client.rate_limit["search_bucket"] == model
