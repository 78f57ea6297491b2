"""Client-side pacing to a HubSpot rate-limit bucket, learned from its response headers."""

import threading
import time
from collections import deque


class RollingWindowPacer:
    """Lets at most `limit` requests start in any rolling `interval` seconds.

    HubSpot counts the ten-secondly bucket over a rolling window, so pacing on the same window
    (less a small margin for clock and network jitter) reaches the ceiling without 429s.
    """

    def __init__(self, limit: int | None, interval: float, margin: int = 2) -> None:
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self.interval = interval
        self.margin = margin
        self.limit = limit
        self.waited_seconds = 0.0

    def configure(self, limit: int, interval: float) -> None:
        with self._lock:
            self.limit, self.interval = limit, interval

    @property
    def allowed(self) -> int | None:
        if self.limit is None:
            return None
        return max(1, self.limit - self.margin)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                allowed = self.allowed
                while self._sent and now - self._sent[0] >= self.interval:
                    self._sent.popleft()
                if allowed is None or len(self._sent) < allowed:
                    self._sent.append(now)
                    return
                wait = self.interval - (now - self._sent[0]) + 0.001
            self.waited_seconds += wait
            time.sleep(wait)

    def observe_remaining(self, remaining: int) -> None:
        """Another client sharing the token used part of the bucket: count its requests too."""
        with self._lock:
            if self.limit is None:
                return
            now = time.monotonic()
            while self._sent and now - self._sent[0] >= self.interval:
                self._sent.popleft()
            foreign = (self.limit - remaining) - len(self._sent)
            # Small differences are requests of ours in flight or jitter; larger ones are not ours.
            if foreign > self.margin:
                self._sent.extend([now] * min(foreign, self.limit))
