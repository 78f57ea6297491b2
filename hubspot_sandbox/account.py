"""The sandbox's HubSpot account: deterministic deals generated lazily, plus a mutation overlay.

A deal is a pure function of (seed, index): nothing per deal is stored, so an account of a
million deals costs a few MB and starts in well under a second. Each deal is assembled from

- values computed from the index (id, createdate, hs_lastmodifieddate, closedate), and
- rows of precomputed "template" tables, one table per group of properties, picked by integer
  mixing of (seed, index); building a deal is then a handful of C-level `dict.update` calls.

Changes made through the admin routes (modify, archive, bulk edit, create) live in an overlay
keyed by index, so they cost memory only for the deals they touch.

The index of a deal is its position in id order over all deals, live and archived. Other tests
use this class to compute the data the sandbox serves:

    acc = SandboxAccount(seed=1, deals=10_000, custom_properties=60)
    acc.deal(0)                      # the wire object: {"id", "properties", "createdAt", ...}
    acc.live_deal_ids(), acc.archived_deal_ids(), acc.live_count, acc.archived_count
    acc.property_definitions(), acc.pipelines(), acc.owners()
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from hubspot_sandbox import catalog, sample_data
from hubspot_sandbox.account_changes import AccountChanges, InvalidChange, UnknownDeal
from hubspot_sandbox.catalog import (
    ALWAYS_INCLUDED,
    DEFAULT_PROPERTIES,
    PIPELINES,
    PropertySpec,
)
from hubspot_sandbox.deal_fragments import DealFragments
from hubspot_sandbox.deal_values import custom_value, format_number
from hubspot_sandbox.property_wire import legacy_property_definition, property_definition
from hubspot_sandbox.timestamps import (
    iso_bytes_from_ms,
    iso_from_ms,
    ms_from_iso,
)

__all__ = [
    "ALWAYS_INCLUDED",
    "DEFAULT_PROPERTIES",
    "InvalidChange",
    "PropertySelection",
    "SandboxAccount",
    "UnknownDeal",
]

_MASK = (1 << 64) - 1
FIRST_DEAL_ID = 10_000_000_000
_ID_STEP_BITS = 6  # ids advance by 64 on average, with a random gap inside each step
CREATED_FROM_MS = 1_609_459_200_000  # 2021-01-01T00:00:00Z
CREATED_UNTIL_MS = 1_782_864_000_000  # 2026-07-01T00:00:00Z: the account's "as of" time
_CORE_BITS = 12
_GROUP_BITS = 10
_GROUP_SIZE = 16
_QUICK_EDIT = int(0.3 * (1 << 32))  # share of deals last modified right after creation
_SLOW_EDIT = (1 << 32) - _QUICK_EDIT
_TIME_SALT = 0x5DEECE66D1234567
_DAY_MS = 86_400_000

# Computed per deal rather than taken from a template table.
_COMPUTED = ("hs_object_id", "createdate", "hs_lastmodifieddate", "closedate", "hs_closed_won_date")


def mix64(x: int) -> int:
    """splitmix64's finalizer: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@dataclass(frozen=True)
class PropertySelection:
    """Which properties a request wants, resolved once per distinct request.

    `groups` are the custom template groups to build; `keys` is the projection in wire order, or
    None when everything built is wanted (the all-properties fast path).
    """

    names: frozenset[str]
    groups: tuple[int, ...]
    keys: tuple[str, ...] | None


class SandboxAccount(AccountChanges):
    """A HubSpot account with `deals` deals (live and archived), generated from `seed`.

    Same arguments give byte-identical data in every process. Archived deals are an exact
    `round(deals * archived_share)` of them. Owners are `owners` active ones plus two archived.
    """

    def __init__(
        self,
        seed: int = 1,
        deals: int = 10_000,
        custom_properties: int = 60,
        archived_share: float = 0.05,
        owners: int = 25,
    ) -> None:
        if deals < 0 or custom_properties < 0 or owners < 1:
            raise ValueError("deals and custom_properties must be >= 0 and owners >= 1")
        if not 0.0 <= archived_share <= 1.0:
            raise ValueError("archived_share must be between 0 and 1")
        self.seed = seed
        self.deal_count = deals
        self.custom_property_count = custom_properties
        self.archived_share = archived_share
        self.owner_count = owners
        self._salt = mix64(seed * 0x2545F4914F6CDD1D + 0x1234567)
        self._span = CREATED_UNTIL_MS - CREATED_FROM_MS
        self._slot = max(1, self._span // max(1, deals))

        self._owners = sample_data.owners(seed, owners)
        live_owner_ids = [o["id"] for o in self._owners if not o["archived"]]
        owner_options = tuple((o["id"], f"{o['firstName']} {o['lastName']}") for o in self._owners)
        self._standard = catalog.standard_property_specs(owner_options)
        self._custom = catalog.custom_property_specs(custom_properties)
        self._specs: dict[str, PropertySpec] = {s.name: s for s in self._standard + self._custom}
        self._property_names = tuple(self._specs)

        self._core_rows = self._build_core_rows(live_owner_ids)
        self._core_names = tuple(n for n in self._core_rows[0][0])
        self._group_specs = [
            self._custom[i : i + _GROUP_SIZE] for i in range(0, len(self._custom), _GROUP_SIZE)
        ]
        self._group_tables = [self._build_group_rows(g) for g in range(len(self._group_specs))]
        self._group_mults = [
            mix64(self._salt ^ (g + 1) * 0x9E37) | 1 for g in range(len(self._group_tables))
        ]
        self._core_mult = mix64(self._salt ^ 0xC0DE) | 1
        self._group_of: dict[str, int] = {}
        for g, specs in enumerate(self._group_specs):
            for spec in specs:
                self._group_of[spec.name] = g
        self._all_groups = tuple(range(len(self._group_specs)))
        self._selections: dict[frozenset[str], PropertySelection] = {}
        self._fragments: dict[PropertySelection, DealFragments] = {}

        archived = round(deals * archived_share)
        picked = random.Random(f"hubspot-sandbox:{seed}:archived").sample(range(deals), archived)
        self._archived: set[int] = set(picked)
        self._archived_sorted: list[int] = sorted(picked)
        # The overlay: index -> changed properties (dicts are shared, never mutated in place),
        # index -> archivedAt of deals archived later, createdate ms of created deals.
        self._changed: dict[int, dict[str, str | None]] = {}
        self._archived_at: dict[int, str] = {}
        self._created_ms: list[int] = []
        self._createdate_monotonic = True
        self.version = 0  # bumped by every change, so search caches know when to drop results

    # ------------------------------------------------------------------ generation

    def _build_core_rows(self, owner_ids: list[str]) -> list[tuple[dict[str, Any], int | None]]:
        rng = random.Random(f"hubspot-sandbox:{self.seed}:core")
        weights = [p.weight for p in PIPELINES]
        rows: list[tuple[dict[str, Any], int | None]] = []
        for _ in range(1 << _CORE_BITS):
            pipeline = rng.choices(PIPELINES, weights)[0]
            stage = rng.choice(pipeline.stages)
            r = rng.random()
            amount: str | None
            if r < 0.07:
                amount = None
            elif r < 0.10:
                amount = ""
            elif r < 0.55:
                amount = str(rng.randrange(1, 500) * 100)
            else:
                amount = format_number(rng.uniform(100, 250_000))
            forecast = format_number(float(amount) * float(stage.probability)) if amount else None
            company = rng.choice(sample_data.COMPANIES)
            product = rng.choice(sample_data.PRODUCTS)
            name = f"{company} – {product}"
            if rng.random() < 0.3:
                name = f"{name} {rng.randrange(2021, 2027)}"
            r = rng.random()
            description = None if r < 0.45 else "" if r < 0.5 else rng.choice(sample_data.TEXTS)
            closes = rng.random() < (0.95 if stage.closed else 0.7)
            close_offset = (
                rng.randrange(1, 365) * _DAY_MS + rng.randrange(_DAY_MS) if closes else None
            )
            props = {
                "dealname": name,
                "amount": amount,
                "dealstage": stage.id,
                "pipeline": pipeline.id,
                "hs_deal_stage_probability": format_number(float(stage.probability)),
                "hs_forecast_amount": forecast,
                "hs_is_closed": "true" if stage.closed else "false",
                "hs_is_closed_won": "true" if stage.won else "false",
                "dealtype": rng.choices(
                    ("newbusiness", "existingbusiness", None), (0.5, 0.35, 0.15)
                )[0],
                "hs_priority": rng.choice(("low", "medium", "high", None, "")),
                "hubspot_owner_id": None if rng.random() < 0.1 else rng.choice(owner_ids),
                "description": description,
            }
            # closed-won deals carry hs_closed_won_date; the sign of the offset says which
            rows.append(
                (props, None if close_offset is None else close_offset * (-1 if stage.won else 1))
            )
        return rows

    def _build_group_rows(self, group: int) -> list[dict[str, str | None]]:
        rng = random.Random(f"hubspot-sandbox:{self.seed}:group:{group}")
        specs = self._group_specs[group]
        first = group * _GROUP_SIZE
        nulls = [0.05 + 0.30 * (((first + k) * 0.6180339887) % 1) for k in range(len(specs))]
        return [
            {spec.name: custom_value(spec, nulls[k], rng) for k, spec in enumerate(specs)}
            for _ in range(1 << _GROUP_BITS)
        ]

    def _times(self, index: int, h: int) -> tuple[int, int]:
        """(createdate, hs_lastmodifieddate) in epoch ms before any overlay change."""
        n = self.deal_count
        if index >= n:
            created = self._created_ms[index - n]
            return created, created
        h2 = mix64(h ^ _TIME_SALT)
        created = CREATED_FROM_MS + (index * self._span) // n + (h2 & 0xFFFFFFFF) % self._slot
        u = h2 >> 32
        if u < _QUICK_EDIT:
            modified = created + 1 + (u & 1023)
        else:
            modified = created + ((u - _QUICK_EDIT) * (CREATED_UNTIL_MS - created)) // _SLOW_EDIT
        return created, modified

    def _base_archived_at(self, index: int) -> str:
        h = mix64(self._salt + index)
        _, modified = self._times(index, h)
        fraction = (mix64(h ^ 0xA4C) >> 44) / (1 << 20)
        return iso_from_ms(modified + int(fraction * (CREATED_UNTIL_MS - modified)))

    def _properties(self, index: int, groups: tuple[int, ...]) -> tuple[dict[str, Any], str, str]:
        """Properties of the given groups (computed and core always), createdAt, updatedAt."""
        h = mix64(self._salt + index)
        created, modified = self._times(index, h)
        core, close_offset = self._core_rows[((h * self._core_mult) & _MASK) >> (64 - _CORE_BITS)]
        created_iso = iso_from_ms(created)
        modified_iso = iso_from_ms(modified)
        if close_offset is None:
            close = won = None
        elif close_offset < 0:
            close = won = iso_from_ms(created - close_offset)
        else:
            close, won = iso_from_ms(created + close_offset), None
        props: dict[str, Any] = {
            "hs_object_id": str(FIRST_DEAL_ID + (index << _ID_STEP_BITS) + (h & 63)),
            "createdate": created_iso,
            "hs_lastmodifieddate": modified_iso,
            "closedate": close,
            "hs_closed_won_date": won,
        }
        props.update(core)
        tables = self._group_tables
        mults = self._group_mults
        shift = 64 - _GROUP_BITS
        for g in groups:
            props.update(tables[g][((h * mults[g]) & _MASK) >> shift])
        changed = self._changed.get(index)
        if changed is not None:
            props.update(changed)
            modified_iso = props["hs_lastmodifieddate"]
        return props, created_iso, modified_iso

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

    # ------------------------------------------------------------------ property selection

    def selection(self, names: Iterable[str] | None) -> PropertySelection:
        """Resolves requested property names: unknown ones dropped, the always-on ones added,
        None (or nothing known) meaning HubSpot's default set."""
        requested = frozenset(() if names is None else names) or frozenset(DEFAULT_PROPERTIES)
        cached = self._selections.get(requested)
        if cached is not None:
            return cached
        known = {n for n in requested if n in self._specs}
        known.update(ALWAYS_INCLUDED)
        if len(known) == len(self._specs):
            resolved = PropertySelection(frozenset(known), self._all_groups, None)
        else:
            groups = tuple(sorted({self._group_of[n] for n in known if n in self._group_of}))
            keys = tuple(n for n in self._property_names if n in known)
            resolved = PropertySelection(frozenset(known), groups, keys)
        if len(self._selections) > 512:
            self._selections.clear()
        self._selections[requested] = resolved
        return resolved

    # ------------------------------------------------------------------ public read API

    @property
    def total_deals(self) -> int:
        """Deals ever created, live and archived (the exclusive upper bound of indexes)."""
        return self.deal_count + len(self._created_ms)

    @property
    def archived_count(self) -> int:
        return len(self._archived)

    @property
    def live_count(self) -> int:
        return self.total_deals - len(self._archived)

    def deal(self, index: int, properties: Iterable[str] | None = None) -> dict[str, Any]:
        """The deal at `index` (0 <= index < total_deals) as HubSpot serializes it.

        With `properties=None` every property is present (None where the deal has no value);
        otherwise exactly what the list endpoint returns for that `properties` query, i.e. the
        known names plus hs_object_id, createdate and hs_lastmodifieddate.
        """
        if not 0 <= index < self.total_deals:
            raise IndexError(index)
        names = self._property_names if properties is None else properties
        return self.wire_deal(index, self.selection(names))

    def deals(
        self, archived: bool | None = None, properties: Iterable[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Deals in id order: live ones (archived=False), archived ones (True) or all (None)."""
        sel = self.selection(self._property_names if properties is None else properties)
        for index in range(self.total_deals):
            if archived is None or (index in self._archived) == archived:
                yield self.wire_deal(index, sel)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.deals(archived=None)

    def __len__(self) -> int:
        return self.total_deals

    def deal_id(self, index: int) -> str:
        return str(self.deal_id_int(index))

    def deal_id_int(self, index: int) -> int:
        return FIRST_DEAL_ID + (index << _ID_STEP_BITS) + (mix64(self._salt + index) & 63)

    def index_of(self, deal_id: str | int) -> int | None:
        """The index of a deal id, or None if the account has no such deal."""
        try:
            value = int(deal_id)
        except (TypeError, ValueError):
            return None
        index = (value - FIRST_DEAL_ID) >> _ID_STEP_BITS
        if 0 <= index < self.total_deals and self.deal_id_int(index) == value:
            return index
        return None

    def deal_by_id(
        self, deal_id: str | int, properties: Iterable[str] | None = None
    ) -> dict[str, Any] | None:
        index = self.index_of(deal_id)
        return None if index is None else self.deal(index, properties)

    def is_archived(self, index: int) -> bool:
        return index in self._archived

    def live_deal_ids(self) -> list[str]:
        return [self.deal_id(i) for i in range(self.total_deals) if i not in self._archived]

    def archived_deal_ids(self) -> list[str]:
        return [self.deal_id(i) for i in self._archived_sorted]

    def property_names(self) -> tuple[str, ...]:
        """Every deal property name, in the order the sandbox puts them on the wire."""
        return self._property_names

    def property_spec(self, name: str) -> PropertySpec | None:
        return self._specs.get(name)

    def property_definitions(self) -> list[dict[str, Any]]:
        """`GET /crm/v3/properties/deals` results."""
        return [property_definition(s) for s in self._specs.values()]

    def legacy_property_definitions(self) -> list[dict[str, Any]]:
        """`GET /properties/v2/deals/properties` (a bare array)."""
        return [legacy_property_definition(s) for s in self._specs.values()]

    def pipelines(self) -> list[dict[str, Any]]:
        """`GET /crm/v3/pipelines/deals` results."""
        return catalog.pipeline_objects()

    def owners(self, archived: bool = False) -> list[dict[str, Any]]:
        """Active owners (or only the archived ones), ordered by id, as `/crm/v3/owners`."""
        return [dict(o) for o in self._owners if o["archived"] == archived]

    # ------------------------------------------------------------------ lookups for the server

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

    def summary(self) -> dict[str, Any]:
        """What `GET /__sandbox/account` reports."""
        return {
            "seed": self.seed,
            "deals": self.total_deals,
            "liveDeals": self.live_count,
            "archivedDeals": self.archived_count,
            "createdDeals": len(self._created_ms),
            "changedDeals": len(self._changed),
            "properties": len(self._specs),
            "customProperties": self.custom_property_count,
            "owners": self.owner_count,
            "pipelines": len(PIPELINES),
            "firstDealId": self.deal_id(0) if self.total_deals else None,
            "lastDealId": self.deal_id(self.total_deals - 1) if self.total_deals else None,
            "version": self.version,
        }
