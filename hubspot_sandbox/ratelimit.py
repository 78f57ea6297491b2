"""HubSpot's rate limits, in process: a rolling ten-secondly bucket per token (per app), a
per-second bucket for search and a daily counter, both per account (the sandbox is one account).

Two models of search: `separate` (HubSpot's docs: search draws on its own bucket only, and its
responses carry no ten-secondly headers) and `shared` (seen on some portals: a search also counts
in the token's ten-secondly bucket). What a portal of the shared model sends is inferred, not
recorded: every search response carries the ten-secondly headers, as any request counted in that
bucket does, and a search over the ten-secondly limit gets that bucket's 429
(`TEN_SECONDLY_ROLLING` with its `groupName`); over its own per-second limit, `SECONDLY`.

Every authenticated request counts against each bucket that applies to it, whether or not it is
rejected: like HubSpot, a client that keeps hammering a full bucket keeps it full. The daily count
resets at midnight UTC. With `ten_secondly_max == 0` nothing is enforced or counted; the headers
then advertise a large burst limit with full remaining counts, so clients that pace themselves on
`X-HubSpot-RateLimit-Max` run unthrottled.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SEPARATE, SHARED = "separate", "shared"
TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"
ADVERTISED_WHEN_OFF = 1_000_000

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class RateLimitPolicy:
    ten_secondly_max: int = 0  # 0 = rate limiting off
    window_ms: int = 10_000
    search_per_second: int = 5  # 0 = search unlimited even when limiting is on
    search_window_ms: int = 1_000
    daily_max: int = 250_000  # 0 = no daily limit even when limiting is on
    search_headers: str = "none"  # "none" (HubSpot's docs) or "daily" (2021 recordings)
    search_bucket: str = SEPARATE  # or SHARED: searches count in the ten-secondly bucket too
    association_max: int = 100  # v4 association batch reads per token per window (0: unlimited)
    retry_after: bool = False
    advertised_max_when_off: int = ADVERTISED_WHEN_OFF

    @property
    def enabled(self) -> bool:
        return self.ten_secondly_max > 0


@dataclass
class _Window:
    """Timestamps (monotonic seconds) of the requests counted in a rolling window."""

    stamps: deque[float] = field(default_factory=deque)

    def add(self, now: float, span: float) -> int:
        stamps = self.stamps
        while stamps and now - stamps[0] >= span:
            stamps.popleft()
        stamps.append(now)
        return len(stamps)

    def count(self, now: float, span: float) -> int:
        stamps = self.stamps
        while stamps and now - stamps[0] >= span:
            stamps.popleft()
        return len(stamps)

    def seconds_until_free(self, now: float, span: float) -> float:
        return max(0.0, span - (now - self.stamps[0])) if self.stamps else 0.0


@dataclass(frozen=True)
class Verdict:
    """The outcome for one request: the policy that rejected it (None = allowed) and the
    rate-limit headers to send."""

    rejected_by: str | None
    headers: Headers
    retry_after_seconds: int | None = None


class RateLimiter:
    def __init__(
        self, policy: RateLimitPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._burst: dict[str, _Window] = {}
        self._last_second: dict[str, _Window] = {}
        self._search = _Window()
        self._associations: dict[str, _Window] = {}
        self._daily_used = 0
        self._day = self._utc_day()

    @staticmethod
    def _utc_day() -> int:
        return int(time.time() // 86_400)

    def _count_daily(self) -> int:
        day = self._utc_day()
        if day != self._day:
            self._day, self._daily_used = day, 0
        self._daily_used += 1
        return self._daily_used

    @staticmethod
    def _seconds_to_midnight() -> int:
        return max(1, math.ceil(86_400 - time.time() % 86_400))

    def _in_burst_bucket(self, search: bool) -> bool:
        return not search or self.policy.search_bucket == SHARED

    def check(self, token: str, search: bool, associations: bool = False) -> Verdict:
        """`associations`: a v4 association batch read, exempt from the ten-secondly bucket and
        counted in one of its own (HubSpot's spec and associations guide)."""
        p = self.policy
        if not p.enabled:
            return Verdict(None, self._headers_when_off(search))
        now = self._clock()
        daily_used = self._count_daily()
        daily_over = p.daily_max > 0 and daily_used > p.daily_max
        if associations:
            return self._check_associations(token, now, daily_used, daily_over)
        in_burst = self._in_burst_bucket(search)
        burst = self._burst.setdefault(token, _Window())
        in_window = 0
        if in_burst:
            in_window = burst.add(now, p.window_ms / 1000)
            in_second = self._last_second.setdefault(token, _Window()).add(now, 1.0)
            headers = self._burst_headers(daily_used, in_window, in_second)
        else:
            headers = self._daily_headers(daily_used) if p.search_headers == "daily" else []
        searched = self._search.add(now, p.search_window_ms / 1000) if search else 0
        if daily_over:
            return Verdict(DAILY, headers, self._seconds_to_midnight())
        if search and p.search_per_second and searched > p.search_per_second:
            wait = self._search.seconds_until_free(now, p.search_window_ms / 1000)
            return Verdict(SECONDLY, headers, max(1, math.ceil(wait)))
        if in_burst and in_window > p.ten_secondly_max:
            wait = burst.seconds_until_free(now, p.window_ms / 1000)
            return Verdict(TEN_SECONDLY, headers, max(1, math.ceil(wait)))
        return Verdict(None, headers)

    def _check_associations(
        self, token: str, now: float, daily_used: int, daily_over: bool
    ) -> Verdict:
        p = self.policy
        window = self._associations.setdefault(token, _Window())
        used = window.add(now, p.window_ms / 1000)
        limit = p.association_max
        # the headers of this bucket, in the ten-secondly headers' shape [unverified]
        headers = [
            *self._daily_headers(daily_used),
            (b"X-HubSpot-RateLimit-Interval-Milliseconds", str(p.window_ms).encode()),
            (b"X-HubSpot-RateLimit-Max", str(limit).encode()),
            (b"X-HubSpot-RateLimit-Remaining", str(max(0, limit - used)).encode()),
        ]
        if daily_over:
            return Verdict(DAILY, headers, self._seconds_to_midnight())
        if limit and used > limit:
            wait = window.seconds_until_free(now, p.window_ms / 1000)
            return Verdict(TEN_SECONDLY, headers, max(1, math.ceil(wait)))
        return Verdict(None, headers)

    def _secondly_max(self, burst_max: int) -> int:
        return max(1, burst_max * 1000 // self.policy.window_ms)

    def _daily_headers(self, used: int) -> Headers:
        daily = self.policy.daily_max
        return [
            (b"X-HubSpot-RateLimit-Daily", str(daily).encode()),
            (b"X-HubSpot-RateLimit-Daily-Remaining", str(max(0, daily - used)).encode()),
        ]

    def _burst_headers(self, daily_used: int, in_window: int, in_second: int) -> Headers:
        p = self.policy
        secondly = self._secondly_max(p.ten_secondly_max)
        return [
            *self._daily_headers(daily_used),
            (b"X-HubSpot-RateLimit-Interval-Milliseconds", str(p.window_ms).encode()),
            (b"X-HubSpot-RateLimit-Max", str(p.ten_secondly_max).encode()),
            (
                b"X-HubSpot-RateLimit-Remaining",
                str(max(0, p.ten_secondly_max - in_window)).encode(),
            ),
            (b"X-HubSpot-RateLimit-Secondly", str(secondly).encode()),
            (b"X-HubSpot-RateLimit-Secondly-Remaining", str(max(0, secondly - in_second)).encode()),
        ]

    def _headers_when_off(self, search: bool) -> Headers:
        p = self.policy
        if not self._in_burst_bucket(search):
            return self._daily_headers(0) if p.search_headers == "daily" else []
        advertised = p.advertised_max_when_off
        secondly = str(self._secondly_max(advertised)).encode()
        return [
            *self._daily_headers(0),
            (b"X-HubSpot-RateLimit-Interval-Milliseconds", str(p.window_ms).encode()),
            (b"X-HubSpot-RateLimit-Max", str(advertised).encode()),
            (b"X-HubSpot-RateLimit-Remaining", str(advertised).encode()),
            (b"X-HubSpot-RateLimit-Secondly", secondly),
            (b"X-HubSpot-RateLimit-Secondly-Remaining", secondly),
        ]

    def usage(self) -> dict[str, int]:
        return {"dailyUsed": self._daily_used}

    def reset(self) -> None:
        self._burst.clear()
        self._last_second.clear()
        self._search = _Window()
        self._associations.clear()
        self._daily_used = 0
