"""Client-side pacing to HubSpot's rate-limit buckets, learned from its responses."""

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any


class RollingWindowPacer:
    """Keeps at most `limit - margin` requests in any rolling `interval` seconds.

    HubSpot counts a request when it arrives, somewhere between our send and its response. A
    request therefore occupies the window from its send until `interval` after its response: the
    window can never empty early on our side, so pacing at the limit collects no 429s, whatever
    the latency or jitter, and costs only a latency's worth of each window.
    """

    def __init__(self, limit: int | None, interval: float, margin: int = 1) -> None:
        self._cond = threading.Condition()
        self._done: deque[float] = deque()  # response times of requests still in the window
        self._in_flight = 0
        self._priority_waiting = 0
        self.interval = interval
        self.margin = margin
        self.limit = limit
        self.waited_seconds = 0.0

    def configure(self, limit: int, interval: float) -> None:
        with self._cond:
            self.limit, self.interval = limit, interval
            self._cond.notify_all()

    @property
    def allowed(self) -> int | None:
        if self.limit is None:
            return None
        return max(1, self.limit - self.margin)

    def _expire(self, now: float) -> None:
        while self._done and now - self._done[0] >= self.interval:
            self._done.popleft()

    def acquire(self, priority: bool = False, spare: int = 0) -> None:
        """Waits until one more request fits in the window, and counts it as in flight. A
        waiting `priority` request gets the next free place before any other, and other
        requests leave `spare` places free for priority ones (see `RateLimitBuckets`)."""
        with self._cond:
            if priority:
                self._priority_waiting += 1
            try:
                while True:
                    now = time.monotonic()
                    self._expire(now)
                    allowed = self.allowed
                    ahead = 0 if priority else max(spare, self._priority_waiting)
                    if allowed is None or self._in_flight + len(self._done) + ahead < allowed:
                        self._in_flight += 1
                        return
                    # Wait for the oldest answered request to leave the window, or an answer.
                    timeout = self.interval - (now - self._done[0]) if self._done else self.interval
                    started = time.monotonic()
                    self._cond.wait(timeout=max(0.001, timeout))
                    self.waited_seconds += time.monotonic() - started
            finally:
                if priority:
                    self._priority_waiting -= 1
                    self._cond.notify_all()

    def release(self) -> None:
        """The request's response (or failure) arrived."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._done.append(time.monotonic())
            self._cond.notify_all()

    def recent(self) -> list[float]:
        """When the requests still in the window were answered (`time.monotonic()`, one clock
        for every process of the machine); requests in flight count as answered now."""
        with self._cond:
            now = time.monotonic()
            self._expire(now)
            return [*self._done, *([now] * self._in_flight)]

    def preload(self, answered: list[float]) -> None:
        """Counts another process's requests on the same bucket (see `recent`)."""
        with self._cond:
            self._done.extend(sorted(answered))
            self._expire(time.monotonic())

    def observe_remaining(self, remaining: int) -> None:
        """Another client sharing the token used part of the bucket: count its requests too."""
        with self._cond:
            if self.limit is None:
                return
            now = time.monotonic()
            self._expire(now)
            foreign = (self.limit - remaining) - (len(self._done) + self._in_flight)
            # Small differences are timing; larger ones are requests that are not ours.
            if foreign > 1:
                self._done.extend([now] * min(foreign, self.limit))


SEPARATE = "separate"
SHARED = "shared"


class RateLimitBuckets:
    """The buckets a token's requests are paced on, and which model the portal runs: the rule of
    which bucket a search request draws on has this one owner.

    HubSpot documents search as a bucket of its own (5 requests per second per account, exempt
    from the ten-secondly one). On some portals search requests count against the ten-secondly
    bucket as well; pacing search apart there overdraws that bucket by the search rate. The model
    is learned from HubSpot's answers to search requests, so a scan knows it after its first
    search (the expected-total count), before its readers start:
    - a search response carrying `X-HubSpot-RateLimit-Remaining`: HubSpot sends the ten-secondly
      counts with the requests it counted there (documented search responses carry none);
    - a 429 to a search whose policy or group is the ten-secondly one.
    Once shared, a search waits for a place in both its own bucket and the ten-secondly one,
    and takes the next free place of the ten-secondly one before any list request; while a
    search reader runs (`searching`), list requests leave free the places of search's share of
    the window (its own rate over the window: 50 of 100 per 10 s) that searches have not taken
    yet. Otherwise the list reader, which takes free places as fast as its answers come, fills
    the window within a second, the places free again together ten seconds later, and search,
    held to 5 a second by its own bucket, gets about one place in nine (1,100 deals/s at 100
    requests per 10 s, where 1,500 is the ceiling).
    """

    def __init__(self, search_requests_per_second: int) -> None:
        self.burst = RollingWindowPacer(limit=None, interval=10.0)
        self.search = RollingWindowPacer(limit=search_requests_per_second, interval=1.0, margin=0)
        # v4 association batch reads: exempt from the ten-secondly bucket, paced on their own
        # (HubSpot's associations guide: 100 per 10 s on Free/Starter), learned from their
        # answers' headers.
        self.associations = RollingWindowPacer(limit=None, interval=10.0)
        self.search_model = SEPARATE
        self.learned_from: str | None = None  # "headers" or "429": what showed it
        self._searchers = 0
        self._lock = threading.Lock()
        # Searches in the ten-secondly window, counted (never waited on) for the reservation.
        self._searches_in_window = RollingWindowPacer(limit=None, interval=10.0)

    @property
    def search_shares_burst(self) -> bool:
        return self.search_model == SHARED

    def pacers(self, search: bool) -> tuple[RollingWindowPacer, ...]:
        """The pacers a request waits on, in order (search's own first: it is the narrower)."""
        if not search:
            return (self.burst,)
        return (self.search, self.burst) if self.search_shares_burst else (self.search,)

    def acquire(self, search: bool) -> tuple[RollingWindowPacer, ...]:
        """Waits for the request's places; returns the pacers to release after its answer."""
        pacers = self.pacers(search)
        spare = 0 if search else self._reserved_for_search()
        for pacer in pacers:
            pacer.acquire(priority=search, spare=spare)
        if search and self.search_shares_burst:
            self._searches_in_window.acquire()
            pacers = (*pacers, self._searches_in_window)
        return pacers

    def _reserved_for_search(self) -> int:
        """Places of the ten-secondly window list requests leave free (see the class)."""
        with self._lock:
            searching = self._searchers > 0
        if not (searching and self.search_shares_burst and self.burst.allowed):
            return 0
        self._searches_in_window.interval = self.burst.interval
        share = int((self.search.allowed or 0) * self.burst.interval / self.search.interval)
        unused = share - len(self._searches_in_window.recent())
        return max(0, min(unused, self.burst.allowed - 1))

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        """A search reader runs beside the list reader (see the class)."""
        with self._lock:
            self._searchers += 1
        try:
            yield
        finally:
            with self._lock:
                self._searchers -= 1

    def learn(
        self, search: bool, headers: Mapping[str, str], rate_limited: Mapping[str, Any] | None
    ) -> bool:
        """Reads one answer to a request; `rate_limited` is a 429's JSON body. Returns whether
        this answer showed that search shares the ten-secondly bucket (the first time only)."""
        if not search or self.search_shares_burst:
            return False
        if "X-HubSpot-RateLimit-Remaining" in headers:
            return self._shared("headers")
        if rate_limited is not None:
            policy = str(rate_limited.get("policyName", ""))
            group = str(rate_limited.get("groupName", ""))
            if policy == "TEN_SECONDLY_ROLLING" or "ten-secondly" in group:
                return self._shared("429")
        return False

    def _shared(self, learned_from: str) -> bool:
        self.search_model, self.learned_from = SHARED, learned_from
        return True

    def state(self) -> dict[str, Any]:
        """What another process's client needs to pace the same way (see `restore`)."""
        return {"search_model": self.search_model, "learned_from": self.learned_from}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.search_model = state.get("search_model", SEPARATE)
        self.learned_from = state.get("learned_from")
