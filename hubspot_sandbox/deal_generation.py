"""How the sandbox's deals are generated: a deal is a pure function of (seed, index).

Nothing per deal is stored. A deal's id, createdate and hs_lastmodifieddate are computed from
its index; every other property comes from rows of precomputed "template" tables (one core
table, one table per group of custom properties), picked by integer mixing of (seed, index).
A mixin of `SandboxAccount` (it provides the attributes used here); `mix64` and the id and time
arithmetic are shared with the other objects' stores (`records.py`, `associations.py`).
"""

from __future__ import annotations

import random
from typing import Any

from hubspot_sandbox import sample_data
from hubspot_sandbox.catalog import PIPELINES
from hubspot_sandbox.deal_values import custom_value, format_number
from hubspot_sandbox.timestamps import iso_from_ms

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


def mix64(x: int) -> int:
    """splitmix64's finalizer: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class DealGeneration:
    """The template tables and a deal's properties before wire shaping (mixin of
    `SandboxAccount`)."""

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
