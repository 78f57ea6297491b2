"""The deals' change overlay: modify, bulk edit, archive and create, as the admin routes make them.

A mixin of `SandboxAccount`: changes live in the account's overlay keyed by index (changed
values, archived indexes and their `archivedAt`, created deals' `createdate`), so they cost memory
only for the deals they touch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hubspot_sandbox.catalog import READ_ONLY_PROPERTIES
from hubspot_sandbox.deal_values import format_number
from hubspot_sandbox.timestamps import iso_from_ms, now_ms


class UnknownDeal(LookupError):
    """An id the account has never had."""


class InvalidChange(ValueError):
    """A change the admin routes refuse: unknown or read-only property, bad value."""


class AccountChanges:
    """The mutating half of `SandboxAccount` (it provides the attributes used here)."""

    # ------------------------------------------------------------------ mutations (overlay)

    def _coerce(self, properties: dict[str, Any]) -> dict[str, str | None]:
        """Validates names and turns values into HubSpot's wire strings."""
        result: dict[str, str | None] = {}
        for name, value in properties.items():
            if name not in self._specs:
                raise InvalidChange(f"unknown deal property {name!r}")
            if name in READ_ONLY_PROPERTIES:
                raise InvalidChange(f"property {name!r} is read-only")
            if value is None or isinstance(value, str):
                result[name] = value
            elif isinstance(value, bool):
                result[name] = "true" if value else "false"
            elif isinstance(value, int | float):
                result[name] = (
                    format_number(float(value)) if isinstance(value, float) else str(value)
                )
            else:
                raise InvalidChange(f"value of {name!r} must be a string, number, bool or null")
        return result

    def _indexes(self, deal_ids: Iterable[str | int]) -> list[int]:
        indexes = []
        for deal_id in deal_ids:
            index = self.index_of(deal_id)
            if index is None:
                raise UnknownDeal(str(deal_id))
            indexes.append(index)
        return list(dict.fromkeys(indexes))

    def _apply(self, indexes: Iterable[int], change: dict[str, str | None]) -> int:
        count = 0
        changed = self._changed
        for index in indexes:
            previous = changed.get(index)
            # one shared dict for every deal edited at once keeps bulk edits cheap
            changed[index] = change if previous is None else {**previous, **change}
            count += 1
        self.version += 1
        return count

    def modify(
        self,
        deal_ids: Iterable[str | int],
        properties: dict[str, Any],
        modified_at_ms: int | None = None,
    ) -> tuple[int, str]:
        """Sets properties on deals and bumps hs_lastmodifieddate/updatedAt (to now by default).

        Returns (deals changed, the new hs_lastmodifieddate)."""
        change = self._coerce(properties)
        indexes = self._indexes(deal_ids)
        stamp = iso_from_ms(now_ms() if modified_at_ms is None else modified_at_ms)
        change["hs_lastmodifieddate"] = stamp
        return self._apply(indexes, change), stamp

    def bulk_edit(
        self,
        name: str,
        value: Any,
        count: int | None = None,
        deal_ids: Iterable[str | int] | None = None,
        modified_at_ms: int | None = None,
    ) -> tuple[int, str]:
        """Sets one property on the first `count` live deals (or on `deal_ids`) with ONE shared
        hs_lastmodifieddate, like a HubSpot bulk edit or import."""
        change = self._coerce({name: value})
        if deal_ids is not None:
            indexes = self._indexes(deal_ids)
        else:
            if count is None or count < 0:
                raise InvalidChange("give either ids or a count >= 0")
            indexes, _ = self.page_indexes(0, count, archived=False)
        stamp = iso_from_ms(now_ms() if modified_at_ms is None else modified_at_ms)
        change["hs_lastmodifieddate"] = stamp
        return self._apply(indexes, change), stamp

    def archive(
        self, deal_ids: Iterable[str | int], archived_at_ms: int | None = None
    ) -> list[str]:
        """Archives deals (archived=true, archivedAt) WITHOUT bumping hs_lastmodifieddate, like
        HubSpot. Returns the ids that were live before."""
        indexes = self._indexes(deal_ids)
        stamp = iso_from_ms(now_ms() if archived_at_ms is None else archived_at_ms)
        newly = [i for i in indexes if i not in self._archived]
        for index in newly:
            self._archived.add(index)
            self._archived_at[index] = stamp
        if newly:
            self._archived_sorted = sorted(self._archived)
            self.version += 1
        return [self.deal_id(i) for i in newly]

    def create(
        self, deals: Iterable[dict[str, Any]], created_at_ms: int | None = None
    ) -> list[str]:
        """Creates deals with ids above every existing one; each dict holds properties to set on
        top of generated values. createdate = hs_lastmodifieddate = created_at_ms (or now)."""
        changes = [self._coerce(props) for props in deals]
        stamp = now_ms() if created_at_ms is None else created_at_ms
        last = self.created_ms(self.total_deals - 1) if self.total_deals else stamp
        if stamp < last:
            self._createdate_monotonic = False
        ids = []
        for change in changes:
            index = self.total_deals
            self._created_ms.append(stamp)
            if change:
                self._changed[index] = change
            ids.append(self.deal_id(index))
        self.version += 1
        return ids
