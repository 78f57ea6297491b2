"""Request counters for `GET /__sandbox/stats`."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.timestamps import iso_from_ms


@dataclass
class Stats:
    """What `GET /__sandbox/stats` reports."""

    requests: dict[str, Counter[str]] = field(default_factory=dict)
    rate_limited: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    deals_served: int = 0
    started: float = field(default_factory=time.time)

    def count(self, route: str, status: int) -> None:
        self.requests.setdefault(route, Counter())[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {route: dict(c) for route, c in sorted(self.requests.items())},
            "requestsTotal": sum(sum(c.values()) for c in self.requests.values()),
            "rateLimited": {
                p: self.rate_limited.get(p, 0)
                for p in ("TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY")
            },
            "faultsInjected": dict(self.faults),
            "faultsTotal": sum(self.faults.values()),
            "dealsServed": self.deals_served,
            "since": iso_from_ms(int(self.started * 1000)),
        }
