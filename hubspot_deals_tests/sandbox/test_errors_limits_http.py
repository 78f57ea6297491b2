"""Auth errors, 414, rate limits and injected faults, with HubSpot's exact bodies and headers."""

from __future__ import annotations

import time
from typing import Any

import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.process import SandboxServer

DEALS = "/crm/v3/objects/deals"
SEARCH = "/crm/v3/objects/deals/search"
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)


def call(server: SandboxServer, session: requests.Session, token: str, search: bool = False):
    headers = {"Authorization": f"Bearer {token}"}
    if search:
        return session.post(server.url(SEARCH), json={"limit": 1}, headers=headers, timeout=30)
    return session.get(server.url(DEALS), params={"limit": "1"}, headers=headers, timeout=30)


def rate_headers(resp: requests.Response) -> dict[str, str]:
    return {k: resp.headers[k] for k in RATE_HEADERS if k in resp.headers}


def test_401_for_missing_wrong_and_malformed_tokens(sandbox: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": sandbox.token}):
        resp = sandbox.session.get(sandbox.base_url + DEALS, headers=headers, timeout=30)
        assert resp.status_code == 401
        assert resp.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
        assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
        assert resp.json() == {
            "status": "error",
            "message": "Authentication credentials not found. This API supports OAuth 2.0 "
            "authentication and you can find more details at "
            "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "correlationId": resp.headers["X-HubSpot-Correlation-Id"],
            "category": "INVALID_AUTHENTICATION",
        }
        assert list(resp.json()) == ["status", "message", "correlationId", "category"]


def test_403_names_the_missing_scope(sandbox: Sandbox) -> None:
    cases = [
        ("/crm/v3/owners", sandbox.deals_only_token, "crm.objects.owners.read"),
        ("/crm/v3/properties/deals", sandbox.deals_only_token, "crm.schemas.deals.read"),
        (DEALS, sandbox.owners_only_token, "crm.objects.deals.read"),
        ("/crm/v3/pipelines/deals", sandbox.owners_only_token, "crm.objects.deals.read"),
    ]
    for path, token, scope in cases:
        resp = sandbox.get(path, token=token)
        assert resp.status_code == 403, path
        assert resp.json() == {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. "
            "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "correlationId": resp.headers["X-HubSpot-Correlation-Id"],
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
            "category": "MISSING_SCOPES",
        }
    assert sandbox.get(DEALS, token=sandbox.deals_only_token).status_code == 200
    assert sandbox.post(SEARCH, {}, token=sandbox.deals_only_token).status_code == 200
    assert sandbox.get("/crm/v3/owners", token=sandbox.owners_only_token).status_code == 200


def test_414_above_the_url_length_knob(sandbox: Sandbox) -> None:
    prefix = f"{DEALS}?properties="
    fits = prefix + "x" * (16_300 - len(prefix))
    too_long = fits + "x"
    assert sandbox.get(fits).status_code == 200
    resp = sandbox.get(too_long)
    assert resp.status_code == 414
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.text == (
        "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
        "<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
    )


def test_headers_when_rate_limiting_is_off(sandbox: Sandbox) -> None:
    resp = sandbox.get(DEALS)
    assert rate_headers(resp) == {
        "X-HubSpot-RateLimit-Daily": "250000",
        "X-HubSpot-RateLimit-Daily-Remaining": "250000",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "1000000",
        "X-HubSpot-RateLimit-Remaining": "1000000",
        "X-HubSpot-RateLimit-Secondly": "100000",
        "X-HubSpot-RateLimit-Secondly-Remaining": "100000",
    }
    assert rate_headers(sandbox.post(SEARCH, {})) == {}
    assert "Retry-After" not in resp.headers


def test_ten_secondly_burst_429_after_exactly_the_limit() -> None:
    token, other = make_token(), make_token()
    with (
        SandboxServer(deals=300, tokens=[token, other], rate_limit=10, rate_limit_window_ms=3000,
                      daily_limit=1000) as server,
        requests.Session() as s,
    ):  # fmt: skip
        started = time.monotonic()
        responses = [call(server, s, token) for _ in range(11)]
        assert time.monotonic() - started < 3, "the burst must fit in one window"
        assert [r.status_code for r in responses] == [200] * 10 + [429]
        for n, resp in enumerate(responses[:10], start=1):
            assert resp.headers["X-HubSpot-RateLimit-Remaining"] == str(10 - n)
            assert resp.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(1000 - n)
        limited = responses[10]
        assert rate_headers(limited) == {
            "X-HubSpot-RateLimit-Daily": "1000",
            "X-HubSpot-RateLimit-Daily-Remaining": "989",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "3000",
            "X-HubSpot-RateLimit-Max": "10",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Secondly": "3",
            "X-HubSpot-RateLimit-Secondly-Remaining": "0",
        }
        assert "Retry-After" not in limited.headers
        body = limited.json()
        assert list(body) == [
            "status", "message", "errorType", "correlationId", "policyName", "groupName",
        ]  # fmt: skip
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert (body["status"], body["errorType"]) == ("error", "RATE_LIMIT")
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["groupName"].startswith("publicapi:private_app-api-calls-ten-secondly:")
        assert body["correlationId"] == limited.headers["X-HubSpot-Correlation-Id"]
        # The bucket is per token (per app): another token is unaffected.
        assert call(server, s, other).status_code == 200
        time.sleep(3.1)
        assert call(server, s, token).status_code == 200
        stats = server.stats()
        assert stats["rateLimited"] == {"TEN_SECONDLY_ROLLING": 1, "SECONDLY": 0, "DAILY": 0}
        assert stats["requests"]["GET /crm/v3/objects/deals"] == {"200": 12, "429": 1}


def test_search_secondly_limit_and_its_headers() -> None:
    token = make_token()
    with (
        SandboxServer(deals=300, tokens=[token], rate_limit=100, search_rate_limit=3,
                      search_window_ms=1000, search_rate_limit_headers="daily",
                      retry_after=True) as server,
        requests.Session() as s,
    ):  # fmt: skip
        responses = [call(server, s, token, search=True) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert rate_headers(responses[0]) == {
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": "249999",
        }
        body: dict[str, Any] = responses[3].json()
        assert list(body) == [
            "status", "message", "errorType", "correlationId", "policyName", "requestId",
        ]  # fmt: skip
        assert body["message"] == "You have reached your secondly limit."
        assert body["policyName"] == "SECONDLY"
        assert responses[3].headers["Retry-After"] == "1"
        # Search has its own bucket: the burst bucket is untouched.
        listed = call(server, s, token)
        assert listed.status_code == 200
        assert listed.headers["X-HubSpot-RateLimit-Remaining"] == "99"
        assert listed.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249995"
        time.sleep(1.05)
        assert call(server, s, token, search=True).status_code == 200


def test_shared_search_bucket_counts_searches_in_the_ten_secondly_bucket() -> None:
    token = make_token()
    with (
        SandboxServer(deals=300, tokens=[token], rate_limit=10, rate_limit_window_ms=3000,
                      search_rate_limit=100, search_bucket="shared", daily_limit=1000) as server,
        requests.Session() as s,
    ):  # fmt: skip
        started = time.monotonic()
        responses = [call(server, s, token, search=n % 2 == 1) for n in range(10)]
        over = [call(server, s, token, search=True), call(server, s, token)]
        assert time.monotonic() - started < 3, "the burst must fit in one window"
        assert [r.status_code for r in responses + over] == [200] * 10 + [429, 429]
        # Searches carry the ten-secondly counts, and take places in that bucket like lists.
        for n, resp in enumerate(responses, start=1):
            assert resp.headers["X-HubSpot-RateLimit-Remaining"] == str(10 - n)
            assert resp.headers["X-HubSpot-RateLimit-Max"] == "10"
        assert rate_headers(over[0]) == {
            "X-HubSpot-RateLimit-Daily": "1000",
            "X-HubSpot-RateLimit-Daily-Remaining": "989",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "3000",
            "X-HubSpot-RateLimit-Max": "10",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Secondly": "3",
            "X-HubSpot-RateLimit-Secondly-Remaining": "0",
        }
        body = over[0].json()
        assert list(body) == [
            "status", "message", "errorType", "correlationId", "policyName", "groupName",
        ]  # fmt: skip
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert body["groupName"].startswith("publicapi:private_app-api-calls-ten-secondly:")
        assert server.stats()["rateLimited"] == {
            "TEN_SECONDLY_ROLLING": 2, "SECONDLY": 0, "DAILY": 0,
        }  # fmt: skip


def test_search_over_its_own_limit_in_the_shared_model_is_secondly() -> None:
    token = make_token()
    with (
        SandboxServer(deals=300, tokens=[token], rate_limit=100, search_rate_limit=2,
                      search_window_ms=1000, search_bucket="shared") as server,
        requests.Session() as s,
    ):  # fmt: skip
        responses = [call(server, s, token, search=True) for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 429]
        assert responses[2].json()["policyName"] == "SECONDLY"
        # Rejected or not, each search took a place in the ten-secondly bucket.
        assert responses[2].headers["X-HubSpot-RateLimit-Remaining"] == "97"
        assert call(server, s, token).headers["X-HubSpot-RateLimit-Remaining"] == "96"


def test_daily_limit() -> None:
    token = make_token()
    with (
        SandboxServer(deals=300, tokens=[token], rate_limit=1000, daily_limit=5) as server,
        requests.Session() as s,
    ):
        statuses = [call(server, s, token, search=n % 2 == 1).status_code for n in range(5)]
        assert statuses == [200] * 5
        limited = call(server, s, token)
        assert limited.status_code == 429
        assert limited.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        body = limited.json()
        assert body["message"] == "You have reached your daily limit."
        assert (body["policyName"], body["errorType"]) == ("DAILY", "RATE_LIMIT")
        assert call(server, s, token, search=True).json()["policyName"] == "DAILY"
        assert server.stats()["rateLimited"]["DAILY"] == 2


def fault_run(seed: int, n: int) -> tuple[list[int], SandboxServer, dict]:
    token = make_token()
    with (
        SandboxServer(deals=300, tokens=[token], fault_rate=0.1, fault_seed=seed) as server,
        requests.Session() as s,
    ):
        codes, bodies = [], {}
        for _ in range(n):
            resp = call(server, s, token)
            codes.append(resp.status_code)
            bodies.setdefault(resp.status_code, (resp.headers["Content-Type"], resp.text))
        assert server.admin("GET", "health") == {"status": "ok"}  # admin routes never fault
        stats = server.stats()
    return codes, server, {"bodies": bodies, "stats": stats}


def test_injected_faults_rate_codes_bodies_and_reproducibility() -> None:
    codes, _, seen = fault_run(seed=42, n=1_000)
    faults = [c for c in codes if c != 200]
    # Binomial(1000, 0.1): mean 100, sd 9.5; 60..140 is more than 4 sd either way.
    assert 60 <= len(faults) <= 140
    assert set(faults) == {500, 502, 503, 504}
    assert seen["stats"]["faultsTotal"] == len(faults)
    assert sum(seen["stats"]["faultsInjected"].values()) == len(faults)
    content_type, text = seen["bodies"][500]
    assert content_type == "application/json;charset=utf-8" and '"message":"internal error"' in text
    for code in (502, 503, 504):
        content_type, text = seen["bodies"][code]
        assert content_type == "text/html" and f"<title>{code} " in text and "cloudflare" in text
    again, _, _ = fault_run(seed=42, n=300)
    assert again == codes[:300]
    other, _, _ = fault_run(seed=43, n=300)
    assert other != codes[:300]


def test_latency_is_added() -> None:
    token = make_token()
    # Long enough that a busy machine's own delays cannot pass for it, nor hide it.
    with (
        SandboxServer(deals=100, tokens=[token], latency_ms=400) as server,
        requests.Session() as s,
    ):
        call(server, s, token)
        started = time.perf_counter()
        for _ in range(3):
            assert call(server, s, token).status_code == 200
        assert (time.perf_counter() - started) / 3 >= 0.4
        started = time.perf_counter()
        server.admin("GET", "health")  # the sandbox's own routes are never delayed
        assert time.perf_counter() - started < 0.4
