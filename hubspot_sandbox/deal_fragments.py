"""Pre-encoded JSON fragments of the deals' template rows: the serving hot path.

For one property selection, each template row's properties are encoded once (`"k":"v",...`
without braces) on first use; `SandboxAccount.deals_json` then assembles a deal's JSON from its
rows' fragments and its computed values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from hubspot_sandbox.account import PropertySelection, SandboxAccount


class DealFragments:
    """JSON of a selection's properties in each template row (`"k":"v",...` without braces),
    encoded on first use."""

    def __init__(self, account: SandboxAccount, selection: PropertySelection) -> None:
        keys = selection.keys
        wanted = set(account.property_names() if keys is None else keys)
        self.close = "closedate" in wanted
        self.won = "hs_closed_won_date" in wanted
        self.core_keys = [k for k in account._core_names if k in wanted]
        self.groups = selection.groups
        self._group_keys = {
            g: [s.name for s in account._group_specs[g] if s.name in wanted] for g in self.groups
        }
        self._core_rows = account._core_rows
        self._group_tables = account._group_tables
        self._core: list[bytes | None] = [None] * len(self._core_rows)
        self._rows: dict[int, list[bytes | None]] = {
            g: [None] * len(self._group_tables[g]) for g in self.groups
        }

    def core_fragment(self, row: int) -> bytes:
        fragment = self._core[row]
        if fragment is None:
            values = self._core_rows[row][0]
            fragment = orjson.dumps({k: values[k] for k in self.core_keys})[1:-1]
            self._core[row] = fragment
        return fragment

    def encoded_rows(self, group: int) -> list[bytes | None]:
        """The group's fragment cache itself: None where a row is not encoded yet."""
        return self._rows[group]

    def group_fragment(self, group: int, row: int) -> bytes:
        rows = self._rows[group]
        fragment = rows[row]
        if fragment is None:
            values = self._group_tables[group][row]
            fragment = orjson.dumps({k: values[k] for k in self._group_keys[group]})[1:-1]
            rows[row] = fragment
        return fragment
