"""Client-side pacing to a HubSpot rate-limit bucket, learned from its response headers."""

import threading
import time
from collections import deque


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

    def acquire(self) -> None:
        """Waits until one more request fits in the window, and counts it as in flight."""
        with self._cond:
            while True:
                now = time.monotonic()
                self._expire(now)
                allowed = self.allowed
                if allowed is None or self._in_flight + len(self._done) < allowed:
                    self._in_flight += 1
                    return
                # Wait for the oldest answered request to leave the window, or for an answer.
                timeout = self.interval - (now - self._done[0]) if self._done else self.interval
                started = time.monotonic()
                self._cond.wait(timeout=max(0.001, timeout))
                self.waited_seconds += time.monotonic() - started

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
