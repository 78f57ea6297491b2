"""The sandbox's HubSpot account: deterministic deals generated lazily, plus a mutation overlay.

A deal is a pure function of (seed, index): nothing per deal is stored, so an account of a
million deals costs a few MB and starts in well under a second. Each deal is assembled from

- values computed from the index (id, createdate, hs_lastmodifieddate, closedate), and
- rows of precomputed "template" tables, one table per group of properties, picked by integer
  mixing of (seed, index); building a deal is then a handful of C-level `dict.update` calls.

Changes made through the admin routes (modify, archive, bulk edit, create) live in an overlay
keyed by index, so they cost memory only for the deals they touch.

The class is put together from one module per concern: generating a deal
(`deal_generation.py`), its wire form and the serving hot path (`deal_wire.py`), the routes'
index lookups (`account_lookups.py`) and the change overlay (`account_changes.py`); this
module holds the account's state, property selection and the public read API.

The index of a deal is its position in id order over all deals, live and archived. Other tests
use this class to compute the data the sandbox serves:

    acc = SandboxAccount(seed=1, deals=10_000, custom_properties=60)
    acc.deal(0)                      # the wire object: {"id", "properties", "createdAt", ...}
    acc.live_deal_ids(), acc.archived_deal_ids(), acc.live_count, acc.archived_count
    acc.property_definitions(), acc.pipelines(), acc.owners()
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

from hubspot_sandbox import catalog, sample_data
from hubspot_sandbox.account_changes import AccountChanges, InvalidChange, UnknownDeal
from hubspot_sandbox.account_lookups import AccountLookups
from hubspot_sandbox.catalog import (
    ALWAYS_INCLUDED,
    DEFAULT_PROPERTIES,
    PIPELINES,
    PropertySpec,
)
from hubspot_sandbox.deal_fragments import DealFragments
from hubspot_sandbox.deal_generation import (
    _GROUP_SIZE,
    _ID_STEP_BITS,
    CREATED_FROM_MS,
    CREATED_UNTIL_MS,
    FIRST_DEAL_ID,
    DealGeneration,
    mix64,
)
from hubspot_sandbox.deal_wire import DealWire, PropertySelection
from hubspot_sandbox.property_wire import legacy_property_definition, property_definition

__all__ = [
    "ALWAYS_INCLUDED",
    "DEFAULT_PROPERTIES",
    "InvalidChange",
    "PropertySelection",
    "SandboxAccount",
    "UnknownDeal",
]


class SandboxAccount(DealGeneration, DealWire, AccountLookups, AccountChanges):
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
