"""Records of one generic CRM object type (companies, contacts, line items, leads).

A seeded record is a function of (seed, object type, index): ids increase with the index,
`createdate` spreads over the account's years in index order, values come from
`record_values`. Writes (API or admin) live in an overlay: changed values by index, archived
indexes, and records created later (appended, with higher ids). Deals have their own, faster
store (`account.py`); both share the id and time arithmetic of `deal_generation.mix64`.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from hubspot_sandbox.deal_generation import CREATED_FROM_MS, CREATED_UNTIL_MS, mix64
from hubspot_sandbox.object_types import ObjectType
from hubspot_sandbox.property_registry import PropertyRegistry
from hubspot_sandbox.record_values import GENERATORS
from hubspot_sandbox.timestamps import iso_from_ms, ms_from_iso

_MASK32 = 0xFFFFFFFF


class UnknownRecord(LookupError):
    """An id the store has never had."""


class ObjectStore:
    """The records of one object type: `count` seeded ones, `archived_share` of them archived."""

    def __init__(
        self,
        kind: ObjectType,
        seed: int,
        count: int,
        owner_ids: list[str],
        registry: PropertyRegistry,
        archived_share: float = 0.03,
    ) -> None:
        self.kind = kind
        self.seed = seed
        self.count = count
        self.registry = registry
        self._owner_ids = owner_ids or [""]
        self._salt = mix64(seed * 0x9E3779B1 + zlib.crc32(kind.name.encode()))
        self._slot = max(1, (CREATED_UNTIL_MS - CREATED_FROM_MS) // max(1, count))
        self._generate = GENERATORS.get(kind.name)
        picked = random.Random(f"hubspot-sandbox:{seed}:{kind.name}:archived").sample(
            range(count), round(count * archived_share)
        )
        self._archived: set[int] = set(picked)
        self._archived_at: dict[int, str] = {}
        self._changed: dict[int, dict[str, str | None]] = {}
        self._created: list[tuple[int, dict[str, str | None]]] = []  # (createdate ms, values)
        self._unique_index: dict[str, int] | None = None
        self._merged_into: dict[int, int] = {}  # merged-away index -> the record it became
        self.version = 0

    # ------------------------------------------------------------------ identity

    @property
    def total(self) -> int:
        return self.count + len(self._created)

    def id_int(self, index: int) -> int:
        bits = self.kind.id_step_bits
        jitter = mix64(self._salt + index) & ((1 << bits) - 1)
        return self.kind.first_id + (index << bits) + jitter

    def record_id(self, index: int) -> str:
        return str(self.id_int(index))

    def index_of(self, record_id: str | int | None) -> int | None:
        try:
            value = int(str(record_id))
        except (TypeError, ValueError):
            return None
        index = (value - self.kind.first_id) >> self.kind.id_step_bits
        if 0 <= index < self.total and self.id_int(index) == value:
            return index
        return None

    def first_index_with_id_at_least(self, record_id: int) -> int:
        index = max(0, (record_id - self.kind.first_id) >> self.kind.id_step_bits)
        if index >= self.total:
            return self.total
        return index + 1 if self.id_int(index) < record_id else index

    def is_archived(self, index: int) -> bool:
        return index in self._archived

    def live_ids(self) -> list[str]:
        return [self.record_id(i) for i in range(self.total) if i not in self._archived]

    def archived_ids(self) -> list[str]:
        return [self.record_id(i) for i in sorted(self._archived) if i not in self._merged_into]

    def merged_into(self, index: int) -> int | None:
        """The live record a merged-away record became (following later merges), else None."""
        if index not in self._merged_into:
            return None
        while index in self._merged_into:
            index = self._merged_into[index]
        return index

    def live_indexes(self) -> Iterator[int]:
        return (i for i in range(self.total) if i not in self._archived)

    # ------------------------------------------------------------------ values

    def _times(self, index: int) -> tuple[int, int]:
        if index >= self.count:
            created = self._created[index - self.count][0]
            return created, created
        h = mix64(self._salt ^ (index * 0x5851F42D))
        span = CREATED_UNTIL_MS - CREATED_FROM_MS
        created = CREATED_FROM_MS + (index * span) // max(1, self.count)
        created += (h & _MASK32) % self._slot
        modified = created + ((h >> 32) * (CREATED_UNTIL_MS - created)) // (1 << 32)
        return created, modified

    def properties(self, index: int) -> dict[str, str | None]:
        """Every value the record has (HubSpot-defined ones, None where unset), overlay applied."""
        created, modified = self._times(index)
        values: dict[str, str | None] = {
            "hs_object_id": self.record_id(index),
            "createdate": iso_from_ms(created),
            self.kind.modified_property: iso_from_ms(modified),
        }
        for spec in self.kind.properties[3:]:
            values[spec.name] = None
        if index < self.count and self._generate is not None:
            rng = random.Random(f"hubspot-sandbox:{self.seed}:{self.kind.name}:{index}")
            values.update(self._generate(rng, index, self._owner_ids))
        elif index >= self.count:
            values.update(self._created[index - self.count][1])
        changed = self._changed.get(index)
        if changed:
            values.update(changed)
        return values

    def value(self, index: int, name: str) -> str | None:
        return self.properties(index).get(name)

    def created_ms(self, index: int) -> int:
        return self._times(index)[0]

    def archived_at(self, index: int) -> str:
        stamp = self._archived_at.get(index)
        if stamp is not None:
            return stamp
        modified = ms_from_iso(self.properties(index)[self.kind.modified_property] or "")
        return iso_from_ms(modified + (mix64(self._salt ^ index) & 0xFFFFFF) * 60)

    def selection(self, names: Iterable[str] | None) -> tuple[str, ...]:
        """The property names a request gets, in wire order: known names of `names` (the
        default set when none are known) plus the always-included ones."""
        known = self.registry.names()
        wanted = {n for n in names or () if n in known}
        if not wanted:
            wanted = set(self.kind.default_properties)
        wanted.update(self.kind.always_included)
        return tuple(n for n in known if n in wanted)

    def wire(self, index: int, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The record as list/get/batch read/search serialize it (`keys`: from `selection`)."""
        values = self.properties(index)
        props = {k: values.get(k) for k in (keys or self.registry.names())}
        record: dict[str, Any] = {
            "id": values["hs_object_id"],
            "properties": props,
            "createdAt": values["createdate"],
            "updatedAt": values[self.kind.modified_property],
            "archived": index in self._archived,
        }
        if index in self._archived:
            record["archivedAt"] = self.archived_at(index)
        return record

    def page(self, start: int, limit: int, archived: bool) -> tuple[list[int], int | None]:
        """Up to `limit` live (or archived) indexes from `start`, and where the next page starts."""
        page: list[int] = []
        index = start

        def wanted(i: int) -> bool:
            # merged-away records are in neither list, as on HubSpot
            return (i in self._archived) == archived and i not in self._merged_into

        while index < self.total and len(page) < limit:
            if wanted(index):
                page.append(index)
            index += 1
        while index < self.total and not wanted(index):
            index += 1
        return page, (index if index < self.total else None)

    # ------------------------------------------------------------------ writes

    def find_unique(self, value: str | None, exclude: int | None = None) -> int | None:
        """The live record holding this unique value (contacts' email, case-insensitive)."""
        name = self.kind.unique_property
        if name is None or not value:
            return None
        if self._unique_index is None:
            self._unique_index = {}
            for index in self.live_indexes():
                held = self.value(index, name)
                if held:
                    self._unique_index[held.lower()] = index
        found = self._unique_index.get(value.lower())
        return None if found == exclude else found

    def _reindex(self, index: int, before: str | None, after: str | None) -> None:
        if self._unique_index is None:
            return
        if before and self._unique_index.get(before.lower()) == index:
            del self._unique_index[before.lower()]
        if after and index not in self._archived:
            self._unique_index[after.lower()] = index

    def create(self, values: dict[str, str | None], at_ms: int) -> int:
        """A new record with an id above every existing one; createdate = modified = at_ms."""
        index = self.total
        self._created.append((at_ms, dict(values)))
        unique = self.kind.unique_property
        if unique:
            self._reindex(index, None, values.get(unique))
        self.version += 1
        return index

    def update(self, index: int, values: dict[str, str | None], at_ms: int) -> None:
        unique = self.kind.unique_property
        before = self.value(index, unique) if unique and unique in values else None
        change = dict(self._changed.get(index, {}))
        change.update(values)
        change[self.kind.modified_property] = iso_from_ms(at_ms)
        self._changed[index] = change
        if unique and unique in values:
            self._reindex(index, before, values[unique])
        self.version += 1

    def archive(self, index: int, at_ms: int) -> bool:
        """Archives a live record (not bumping its modified date, like HubSpot)."""
        if index in self._archived:
            return False
        unique = self.kind.unique_property
        if unique:
            self._reindex(index, self.value(index, unique), None)
        self._archived.add(index)
        self._archived_at[index] = iso_from_ms(at_ms)
        self.version += 1
        return True

    def merge(self, primary: int, secondary: int, at_ms: int) -> int:
        """Merges two live records into a new one with a new id, as HubSpot now does: the
        primary's values win where it has one, `createdate` is the older one, and
        `hs_merged_object_ids` lists every id merged into it. Both originals disappear."""
        first, second = self.properties(primary), self.properties(secondary)
        fixed = set(self.kind.always_included)
        values = {k: v for k, v in second.items() if k not in fixed}
        values.update({k: v for k, v in first.items() if k not in fixed and v not in (None, "")})
        earlier = [v.get("hs_merged_object_ids") or "" for v in (first, second)]
        merged = [x for text in earlier for x in text.split(";") if x]
        merged += [self.record_id(primary), self.record_id(secondary)]
        values["hs_merged_object_ids"] = ";".join(sorted(set(merged), key=int))
        values["createdate"] = min(first["createdate"], second["createdate"])  # type: ignore[type-var]
        for index in (primary, secondary):
            self.archive(index, at_ms)
        new = self.create(values, at_ms)
        self._merged_into[primary] = self._merged_into[secondary] = new
        return new

    def summary(self) -> dict[str, int]:
        return {
            "live": self.total - len(self._archived),
            "archived": len(self._archived) - len(self._merged_into),
            "merged": len(self._merged_into),
            "created": len(self._created),
            "changed": len(self._changed),
        }
