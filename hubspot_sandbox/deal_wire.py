"""A deal on the wire: the object the list, get and batch-read endpoints serialize, and the
serving hot path that assembles the same JSON bytes from pre-encoded template-row fragments.

A mixin of `SandboxAccount` (it provides the attributes used here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from hubspot_sandbox.deal_fragments import DealFragments
from hubspot_sandbox.deal_generation import (
    _CORE_BITS,
    _GROUP_BITS,
    _ID_STEP_BITS,
    _MASK,
    _QUICK_EDIT,
    _SLOW_EDIT,
    _TIME_SALT,
    CREATED_FROM_MS,
    CREATED_UNTIL_MS,
    FIRST_DEAL_ID,
    mix64,
)
from hubspot_sandbox.timestamps import iso_bytes_from_ms


@dataclass(frozen=True)
class PropertySelection:
    """Which properties a request wants, resolved once per distinct request.

    `groups` are the custom template groups to build; `keys` is the projection in wire order, or
    None when everything built is wanted (the all-properties fast path).
    """

    names: frozenset[str]
    groups: tuple[int, ...]
    keys: tuple[str, ...] | None


class DealWire:
    """Deals as HubSpot serializes them (mixin of `SandboxAccount`)."""

    def wire_deal(self, index: int, selection: PropertySelection) -> dict[str, Any]:
        """The deal as the list/get/batch-read endpoints serialize it, for a resolved selection."""
        props, created_iso, modified_iso = self._properties(index, selection.groups)
        if selection.keys is not None:
            props = {k: props[k] for k in selection.keys}
        deal: dict[str, Any] = {
            "id": props["hs_object_id"],
            "properties": props,
            "createdAt": created_iso,
            "updatedAt": modified_iso,
            "archived": False,
        }
        if index in self._archived:
            deal["archived"] = True
            deal["archivedAt"] = self.archived_at(index)
        return deal

    def deals_json(self, indexes: Iterable[int], selection: PropertySelection) -> list[bytes]:
        """Each deal's JSON, byte-identical to `orjson.dumps(wire_deal(...))` but assembled from
        pre-encoded template-row fragments: the serving hot path."""
        fragments = self._fragments.get(selection)
        if fragments is None:
            if len(self._fragments) >= 8:
                self._fragments.clear()
            fragments = self._fragments[selection] = DealFragments(self, selection)
        salt, core_mult, mults = self._salt, self._core_mult, self._group_mults
        core_shift, group_shift = 64 - _CORE_BITS, 64 - _GROUP_BITS
        core_rows = self._core_rows
        changed, archived = self._changed, self._archived
        groups = [(g, mults[g], fragments.encoded_rows(g)) for g in fragments.groups]
        core_fragment, group_fragment = fragments.core_fragment, fragments.group_fragment
        n, span, slot, created_ms = self.deal_count, self._span, self._slot, self._created_ms
        out: list[bytes] = []
        for index in indexes:
            if index in changed:
                out.append(orjson.dumps(self.wire_deal(index, selection)))
                continue
            # mix64 and _times inlined: this loop runs for every deal served
            x = (salt + index + 0x9E3779B97F4A7C15) & _MASK
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
            h = x ^ (x >> 31)
            if index < n:
                h2 = mix64(h ^ _TIME_SALT)
                created = CREATED_FROM_MS + (index * span) // n + (h2 & 0xFFFFFFFF) % slot
                u = h2 >> 32
                modified = (
                    created + 1 + (u & 1023)
                    if u < _QUICK_EDIT
                    else created + ((u - _QUICK_EDIT) * (CREATED_UNTIL_MS - created)) // _SLOW_EDIT
                )
            else:
                created = modified = created_ms[index - n]
            row = ((h * core_mult) & _MASK) >> core_shift
            sid = b"%d" % (FIRST_DEAL_ID + (index << _ID_STEP_BITS) + (h & 63))
            c = iso_bytes_from_ms(created)
            m = iso_bytes_from_ms(modified)
            parts = [
                b'{"id":"%s","properties":{"hs_object_id":"%s","createdate":"%s",'
                b'"hs_lastmodifieddate":"%s"' % (sid, sid, c, m)
            ]
            if fragments.close or fragments.won:
                offset = core_rows[row][1]
                close = (
                    b"null"
                    if offset is None
                    else b'"' + iso_bytes_from_ms(created + abs(offset)) + b'"'
                )
                if fragments.close:
                    parts += (b',"closedate":', close)
                if fragments.won:
                    parts += (
                        b',"hs_closed_won_date":',
                        close if offset and offset < 0 else b"null",
                    )
            if fragments.core_keys:
                parts += (b",", core_fragment(row))
            for g, mult, encoded in groups:
                r = ((h * mult) & _MASK) >> group_shift
                parts += (b",", encoded[r] or group_fragment(g, r))
            if index in archived:
                at = self.archived_at(index).encode()
                parts.append(
                    b'},"createdAt":"%s","updatedAt":"%s","archived":true,"archivedAt":"%s"}'
                    % (c, m, at)
                )
            else:
                parts.append(b'},"createdAt":"%s","updatedAt":"%s","archived":false}' % (c, m))
            out.append(b"".join(parts))
        return out

    def archived_at(self, index: int) -> str:
        at = self._archived_at.get(index)
        return at if at is not None else self._base_archived_at(index)
