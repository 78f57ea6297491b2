"""The one HubSpot CRM v3 HTTP client: auth, pacing to the token's limits, retries, errors."""

import logging
import random
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import orjson
import requests
from requests.adapters import HTTPAdapter

from hubspot_deals.source.errors import (
    HubSpotAuthenticationError,
    HubSpotRateLimitError,
    HubSpotRequestError,
    HubSpotScopeError,
    HubSpotWriteUncertain,
)
from hubspot_deals.source.oauth import AccessTokenProvider, RefreshingAccessToken
from hubspot_deals.source.pacing import RateLimitBuckets

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})
# HubSpot documents the search endpoints' own bucket as 5 requests/second per account.
SEARCH_REQUESTS_PER_SECOND = 5


class HubSpotClient:
    """Talks to one HubSpot account with one token; safe to share between threads.

    `access_token` is a private-app token, or an `AccessTokenProvider` (an OAuth grant): then a
    request answered 401 `EXPIRED_AUTHENTICATION` gets a fresh token from it and is sent again.
    """

    def __init__(
        self,
        access_token: str | AccessTokenProvider | dict[str, Any],
        base_url: str = "https://api.hubapi.com",
        *,
        max_attempts: int = 8,
        timeout: float = 60.0,
        max_backoff: float = 30.0,
        max_rate_limit_wait: float = 600.0,
        search_requests_per_second: int = SEARCH_REQUESTS_PER_SECOND,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if isinstance(access_token, dict):  # an OAuth grant handed over by worker_settings
            access_token = RefreshingAccessToken.from_worker_spec(access_token)
        self._token_provider = None if isinstance(access_token, str) else access_token
        self._auth_header = f"Bearer {access_token}" if isinstance(access_token, str) else ""
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.max_rate_limit_wait = max_rate_limit_wait
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "hubspot-deals"})
        # The ten-secondly bucket's size is learned from the first response's headers, and
        # whether search draws on it too from the first answers to a search.
        self.buckets = RateLimitBuckets(search_requests_per_second)
        self.burst_pacer = self.buckets.burst
        self.search_pacer = self.buckets.search
        self._stats_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.rate_limit: dict[str, int] = {}

    # -- public calls ---------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> Any:
        """A POST that reads (search, batch read): sent again after a 5xx or a lost
        connection like any read."""
        return self._request("POST", path, params=params, body=body)

    def write(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, repeatable: bool
    ) -> Any:
        """A write. `repeatable` ones (updates, archives: the same request twice leaves the
        same state) are retried like reads; the others (creates) are sent once past any 5xx or
        lost connection, which raises `HubSpotWriteUncertain`. A 429 is always waited out and
        sent again: HubSpot refused it before doing anything."""
        return self._request(method, path, body=body, repeatable=repeatable)

    def archive(self, path: str) -> Any:
        """HubSpot's DELETE of a record (it archives): repeatable, retried like a read."""
        return self._request("DELETE", path, repeatable=True)

    def url_length(self, path: str, params: dict[str, Any]) -> int:
        """Length of the URL a GET with these params would have."""
        return len(self.base_url) + len(path) + 1 + len(urlencode(params, doseq=True))

    def worker_settings(self) -> dict[str, Any]:
        """Keyword arguments for an equal client in another process (the deal reader's)."""
        return {
            "access_token": self._token_provider.worker_spec()  # type: ignore[attr-defined]
            if self._token_provider is not None
            else self._auth_header.removeprefix("Bearer "),
            "base_url": self.base_url,
            "max_attempts": self.max_attempts,
            "timeout": self.timeout,
            "max_backoff": self.max_backoff,
            "max_rate_limit_wait": self.max_rate_limit_wait,
            "search_requests_per_second": self.search_pacer.limit,
        }

    def close(self) -> None:
        self.session.close()

    # -- internals ------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        repeatable: bool = True,
    ) -> Any:
        is_search = path.endswith("/search")
        is_association = _is_association_batch(path)
        url = self.base_url + path
        data = orjson.dumps(body) if body is not None else None
        headers = {"Authorization": self._auth_header}
        if data is not None:
            headers["Content-Type"] = "application/json"
        failure = ""
        attempt = 0  # failed attempts: 5xx and connection errors
        rate_limit_waited = 0.0  # 429s have their own, time-based patience
        refreshed = False  # an expired OAuth token is refreshed once per request
        while attempt < self.max_attempts:
            token = self._token_provider.current() if self._token_provider else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            if is_association:
                self.buckets.associations.acquire()
                pacers: tuple[Any, ...] = (self.buckets.associations,)
            else:
                pacers = self.buckets.acquire(is_search)
            self._count("requests")
            kind = "association" if is_association else "search" if is_search else "burst"
            self._count(f"{kind}_requests")
            try:
                resp = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                for pacer in pacers:
                    pacer.release()
                attempt += 1
                failure = f"{type(exc).__name__} talking to HubSpot"
                self._count("connection_errors")
                if not repeatable:
                    raise HubSpotWriteUncertain(f"{failure} during {method} {path}") from None
                self._sleep_backoff(attempt)
                continue
            for pacer in pacers:
                pacer.release()
            if is_association:
                self._learn_association_limit(resp)
            else:
                self._learn_limits(resp, is_search)
            if resp.status_code < 300 or resp.status_code == 207:
                return orjson.loads(resp.content) if resp.content else {}
            correlation_id = resp.headers.get("X-HubSpot-Correlation-Id", "")
            if resp.status_code == 429:
                if rate_limit_waited >= self.max_rate_limit_wait:
                    raise HubSpotRateLimitError(
                        f"HubSpot kept answering 429 to {method} {path} for "
                        f"{rate_limit_waited:.0f}s; another app may be using this token's limit",
                        status=429,
                        correlation_id=correlation_id,
                    )
                rate_limit_waited += self._on_rate_limited(resp, path, correlation_id)
                continue
            if token is not None and not refreshed and _is_expired_token(resp):
                refreshed = True
                self._count("token_refreshes")
                log.info("HubSpot OAuth access token expired; refreshing it (%s %s)", method, path)
                self._token_provider.refresh(token)  # type: ignore[union-attr]
                continue
            if resp.status_code in RETRIED_STATUSES:
                attempt += 1
                failure = f"HTTP {resp.status_code} from HubSpot {method} {path}"
                self._count("server_errors")
                if not repeatable:
                    raise HubSpotWriteUncertain(
                        failure, status=resp.status_code, correlation_id=correlation_id
                    )
                self._sleep_backoff(attempt)
                continue
            self._raise_for_client_error(resp, method, path, correlation_id)
        raise HubSpotRequestError(
            f"{failure}; gave up after {self.max_attempts} attempts", status=None
        )

    def _learn_limits(self, resp: requests.Response, is_search: bool) -> None:
        h = resp.headers
        rate_limited = _json_body(resp) if resp.status_code == 429 else None
        if self.buckets.learn(is_search, h, rate_limited):
            self._count("search_bucket_shared_at_request", self.stats["requests"])
            log.info(
                "HubSpot counts this token's searches in its ten-secondly bucket too "
                "(shown by %s); pacing search and the other requests on one bucket",
                "a search response's rate-limit headers"
                if self.buckets.learned_from == "headers"
                else "a 429 to a search",
            )
        try:
            limit = int(h["X-HubSpot-RateLimit-Max"])
            interval_ms = int(h.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"))
            remaining = int(h["X-HubSpot-RateLimit-Remaining"])
        except (KeyError, ValueError):
            return
        if self.burst_pacer.limit != limit:
            self.burst_pacer.configure(limit, interval_ms / 1000.0)
        self.burst_pacer.observe_remaining(remaining)
        self.rate_limit = {
            "max": limit,
            "interval_ms": interval_ms,
            "remaining": remaining,
            "search_bucket": self.buckets.search_model,
        }
        if "X-HubSpot-RateLimit-Daily-Remaining" in h:
            try:
                self.rate_limit["daily"] = int(h.get("X-HubSpot-RateLimit-Daily", "0"))
                self.rate_limit["daily_remaining"] = int(h["X-HubSpot-RateLimit-Daily-Remaining"])
            except ValueError:
                pass

    def _learn_association_limit(self, resp: requests.Response) -> None:
        """An association batch read's headers count its own bucket, not the ten-secondly one."""
        h = resp.headers
        try:
            limit = int(h["X-HubSpot-RateLimit-Max"])
            interval_ms = int(h.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"))
            remaining = int(h["X-HubSpot-RateLimit-Remaining"])
        except (KeyError, ValueError):
            return
        pacer = self.buckets.associations
        if pacer.limit != limit:
            pacer.configure(limit, interval_ms / 1000.0)
        pacer.observe_remaining(remaining)

    def _on_rate_limited(self, resp: requests.Response, path: str, correlation_id: str) -> float:
        """Waits out a 429 that waiting can clear; returns the seconds waited."""
        self._count("rate_limited")
        policy = str(_json_body(resp).get("policyName", ""))
        self._count(f"rate_limited_{policy.lower() or 'unknown'}")
        if policy == "DAILY":
            raise HubSpotRateLimitError(
                "HubSpot's daily API limit for this account is used up; "
                "the scan can resume after the daily reset",
                status=429,
                correlation_id=correlation_id,
            )
        retry_after = resp.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            wait = float(retry_after)
        elif policy == "SECONDLY":
            wait = 1.0
        else:
            wait = 1.0 + random.random()
        log.info("HubSpot rate limit %s on %s; waiting %.1fs", policy or "429", path, wait)
        time.sleep(wait)
        return wait

    def _sleep_backoff(self, attempt: int) -> None:
        delay = min(self.max_backoff, 0.5 * 2 ** (attempt - 1))
        time.sleep(delay * (0.5 + random.random() / 2))

    @staticmethod
    def _raise_for_client_error(
        resp: requests.Response, method: str, path: str, correlation_id: str
    ) -> None:
        details = _json_body(resp)
        message = str(details.get("message", ""))
        status = resp.status_code
        if status == 401:
            raise HubSpotAuthenticationError(
                "HubSpot rejected the access token (401 "
                f"{details.get('category', 'INVALID_AUTHENTICATION')}): it is unknown, revoked "
                "or expired",
                status=401,
                correlation_id=correlation_id,
            )
        if status == 403:
            scopes: list[str] = []
            for err in details.get("errors") or []:
                ctx = err.get("context") or {}
                scopes += ctx.get("requiredGranularScopes") or ctx.get("requiredScopes") or []
            needed = f"; it needs {', '.join(scopes)}" if scopes else ""
            raise HubSpotScopeError(
                f"the HubSpot token lacks a scope for {method} {path} (403 MISSING_SCOPES){needed}",
                status=403,
                correlation_id=correlation_id,
            )
        if status == 414:
            raise HubSpotRequestError(
                f"HubSpot refused {method} {path}: URL too long (414)", status=414
            )
        raise HubSpotRequestError(
            f"HubSpot answered {status} to {method} {path}: {message[:300] or resp.reason}",
            status=status,
            correlation_id=correlation_id,
            body=details,
        )


def _is_association_batch(path: str) -> bool:
    """A v4 association batch read (`/crm/v4/associations/{from}/{to}/batch/read`)."""
    return path.startswith("/crm/v4/associations/") and path.endswith("/batch/read")


def _is_expired_token(resp: requests.Response) -> bool:
    return resp.status_code == 401 and _json_body(resp).get("category") == "EXPIRED_AUTHENTICATION"


def _json_body(resp: requests.Response) -> dict[str, Any]:
    """An error response's JSON object; HubSpot's 5xx and 414 bodies are often HTML."""
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
