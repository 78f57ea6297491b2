"""What the sandbox should answer, computed by brute force from `SandboxAccount` data.

Deliberately naive (every deal, every filter, plain Python) so it checks the server's planner,
index ranges and per-template-row shortcuts rather than repeating them.
"""

from __future__ import annotations

import datetime as dt
import re
from fnmatch import fnmatchcase
from typing import Any

from hubspot_sandbox.account import SandboxAccount


def to_ms(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    text = str(value)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class Oracle:
    def __init__(self, account: SandboxAccount) -> None:
        self.account = account
        self.types = {
            d["name"]: (d["type"], d["fieldType"]) for d in account.property_definitions()
        }
        self.live = list(account.deals(archived=False))

    def typed(self, name: str, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        kind = self.types.get(name, ("string", "text"))[0]
        if kind == "number":
            return float(raw)
        if kind in ("datetime", "date"):
            return to_ms(raw)
        if isinstance(raw, bool):
            return "true" if raw else "false"
        return str(raw).lower()

    def matches(self, deal: dict[str, Any], f: dict[str, Any]) -> bool:
        name, op = f["propertyName"], f["operator"]
        value = self.typed(name, deal["properties"].get(name))
        multi = self.types.get(name, ("", ""))[1] == "checkbox"
        if op == "HAS_PROPERTY":
            return value is not None
        if op == "NOT_HAS_PROPERTY":
            return value is None
        if op in ("IN", "NOT_IN"):
            wanted = {self.typed(name, v) for v in f["values"]}
            parts = value.split(";") if multi and value is not None else [value]
            hit = value is not None and any(p in wanted for p in parts)
            return hit if op == "IN" else not hit
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            tokens = [t for t in re.split(r"[\W_]+", str(value or "")) if t]
            hit = value is not None and any(fnmatchcase(t, f["value"].lower()) for t in tokens)
            return hit if op == "CONTAINS_TOKEN" else not hit
        x = self.typed(name, f["value"])
        if op == "NEQ":
            return value != x
        if value is None:
            return False
        if op == "BETWEEN":
            return x <= value <= self.typed(name, f["highValue"])
        return {
            "EQ": value == x,
            "LT": value < x,
            "LTE": value <= x,
            "GT": value > x,
            "GTE": value >= x,
        }[op]

    def search(
        self,
        groups: list[list[dict[str, Any]]],
        sort: str = "createdate",
        descending: bool = False,
    ) -> list[str]:
        """Ids of every live deal matching (groups ORed, filters ANDed), in the sandbox's order:
        by the typed sort value, nulls last, ties by id ascending."""
        found = [
            d
            for d in self.live
            if not groups or any(all(self.matches(d, f) for f in g) for g in groups)
        ]
        present, missing = [], []
        for d in found:
            has = self.typed(sort, d["properties"].get(sort)) is not None
            (present if has else missing).append(d)
        present.sort(key=lambda d: int(d["id"]))
        present.sort(key=lambda d: self.typed(sort, d["properties"][sort]), reverse=descending)
        missing.sort(key=lambda d: int(d["id"]))
        return [d["id"] for d in present + missing]
