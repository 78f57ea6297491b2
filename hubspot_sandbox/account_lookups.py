"""Lookups the sandbox's routes make on an account without walking its deals: ids to
indexes, createdate bisection, template columns for search, live and archived pages, the n-th
live deal of a range.

A mixin of `SandboxAccount` (it provides the attributes used here).
"""

from __future__ import annotations

import bisect
from typing import Any

from hubspot_sandbox.deal_generation import (
    _CORE_BITS,
    _GROUP_BITS,
    _ID_STEP_BITS,
    _MASK,
    FIRST_DEAL_ID,
    mix64,
)
from hubspot_sandbox.timestamps import ms_from_iso


class AccountLookups:
    """Index arithmetic over the account's deals (mixin of `SandboxAccount`)."""

    def first_index_with_id_at_least(self, deal_id: int) -> int:
        """The index of the first deal whose id is >= deal_id (total_deals when none)."""
        index = max(0, (deal_id - FIRST_DEAL_ID) >> _ID_STEP_BITS)
        if index >= self.total_deals:
            return self.total_deals
        if self.deal_id_int(index) < deal_id:
            index += 1
        return index

    @property
    def createdate_follows_ids(self) -> bool:
        """True while createdate never decreases with the index (it can be bisected)."""
        return self._createdate_monotonic

    def created_ms(self, index: int) -> int:
        return self._times(index, mix64(self._salt + index))[0]

    def modified_ms(self, index: int) -> int:
        changed = self._changed.get(index)
        if changed is not None:
            stamp = changed.get("hs_lastmodifieddate")
            if stamp:
                return ms_from_iso(stamp)
        return self._times(index, mix64(self._salt + index))[1]

    def first_index_created_at_least(self, epoch_ms: int) -> int:
        """Bisects createdate; only meaningful while `createdate_follows_ids`."""
        return bisect.bisect_left(range(self.total_deals), epoch_ms, key=self.created_ms)

    def property_value(self, index: int, name: str) -> str | None:
        changed = self._changed.get(index)
        if changed is not None and name in changed:
            return changed[name]
        group = self._group_of.get(name)
        props, _, _ = self._properties(index, () if group is None else (group,))
        return props.get(name)

    def template_column(self, name: str) -> tuple[list[str | None], Any] | None:
        """For a templated property: its value in every template row, and index -> row number.

        Search evaluates a filter once per row instead of once per deal. None for computed
        properties (ids and dates) and unknown names.
        """
        salt = self._salt
        if name in self._core_names:
            values = [row[0][name] for row in self._core_rows]
            mult, bits = self._core_mult, _CORE_BITS
        elif name in self._group_of:
            g = self._group_of[name]
            values = [row[name] for row in self._group_tables[g]]
            mult, bits = self._group_mults[g], _GROUP_BITS
        else:
            return None
        shift = 64 - bits

        def row_of(index: int) -> int:
            return ((mix64(salt + index) * mult) & _MASK) >> shift

        return values, row_of

    def changed_properties(self, index: int) -> dict[str, str | None] | None:
        return self._changed.get(index)

    @property
    def has_changes(self) -> bool:
        return bool(self._changed)

    def next_index(self, start: int, archived: bool) -> int | None:
        """The first index >= start that is live (or archived), else None."""
        if archived:
            pos = bisect.bisect_left(self._archived_sorted, start)
            return self._archived_sorted[pos] if pos < len(self._archived_sorted) else None
        total = self.total_deals
        archived_set = self._archived
        index = start
        while index < total:
            if index not in archived_set:
                return index
            index += 1
        return None

    def page_indexes(self, start: int, limit: int, archived: bool) -> tuple[list[int], int | None]:
        """Up to `limit` live (or archived) indexes from `start`, and where the next page starts."""
        if archived:
            s = self._archived_sorted
            pos = bisect.bisect_left(s, start)
            page = s[pos : pos + limit]
            return page, (s[pos + limit] if pos + limit < len(s) else None)
        page: list[int] = []
        total = self.total_deals
        archived_set = self._archived
        index = start
        while index < total and len(page) < limit:
            if index not in archived_set:
                page.append(index)
            index += 1
        return page, self.next_index(index, archived=False)

    def archived_between(self, lo: int, hi: int) -> int:
        """How many archived indexes lie in [lo, hi)."""
        s = self._archived_sorted
        return bisect.bisect_left(s, hi) - bisect.bisect_left(s, lo)

    def nth_live(self, lo: int, hi: int, n: int, descending: bool = False) -> int | None:
        """The index of the n-th (0-based) live deal in [lo, hi), counted from the top when
        descending, without walking the range: a fixed point over the archived counts."""
        if n < 0 or hi - lo - self.archived_between(lo, hi) <= n:
            return None
        if descending:
            p = hi - 1 - n
            while True:
                q = hi - 1 - n - self.archived_between(p, hi)
                if q == p:
                    return p
                p = q
        p = lo + n
        while True:
            q = lo + n + self.archived_between(lo, p + 1)
            if q == p:
                return p
            p = q
