"""`propertiesWithHistory=dealstage`: each deal's stage transitions, seeded and then grown.

A seeded deal walks its pipeline's open stages in display order from its `createdate` up to its
seeded stage (a closed deal leaves from some open stage into its closed one), now and then
stepping back one stage and forward again (re-entries), all within [createdate,
hs_lastmodifieddate]. Stage moves made through the admin routes append to that walk, so the
newest entry always equals the deal's current `dealstage`. HubSpot lists history newest first;
so does the sandbox. Other properties' history is their current value, stamped when last set.
The `hs_v2_*` stage-calculated properties are derived from the same walk.
"""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.catalog import PIPELINES, Stage
from hubspot_sandbox.deal_generation import mix64
from hubspot_sandbox.timestamps import iso_from_ms, ms_from_iso

_STAGES = {stage.id: (pipeline, stage) for pipeline in PIPELINES for stage in pipeline.stages}
# HubSpot's stage-calculated properties, requested by name (the properties API does not list
# them): `hs_v2_date_entered_{stageId}` and the rest, for every stage of every pipeline.
ENTERED, EXITED = "hs_v2_date_entered_", "hs_v2_date_exited_"
LATEST, CUMULATIVE = "hs_v2_latest_time_in_", "hs_v2_cumulative_time_in_"
STAGE_PROPERTIES = {
    prefix + stage_id: (prefix, stage_id)
    for prefix in (ENTERED, EXITED, LATEST, CUMULATIVE)
    for stage_id in _STAGES
}
_SOURCES = ("CRM_UI", "CRM_UI", "CRM_UI", "AUTOMATION_PLATFORM", "INTEGRATION")
_FIRST_USER = 28_604_240


def _entry(value: str, at_ms: int, h: int) -> dict[str, Any]:
    source = _SOURCES[h % len(_SOURCES)]
    entry: dict[str, Any] = {"value": value, "timestamp": iso_from_ms(at_ms), "sourceType": source}
    if source == "CRM_UI":
        user = _FIRST_USER + (h >> 8) % 7
        entry["sourceId"] = f"userId:{user}"
        entry["updatedByUserId"] = user
    elif source == "AUTOMATION_PLATFORM":
        entry["sourceId"] = f"enrollmentId:{(h >> 8) % 900_000 + 100_000}"
    else:
        entry["sourceId"] = "1516352"  # an integration's app id
    return entry


class StageHistory:
    """Seeded stage walks plus the moves made later, per deal index."""

    def __init__(self, account: SandboxAccount) -> None:
        self.account = account
        self._salt = mix64(account.seed * 0x51ED27 + 0x57A6E)
        self._moves: dict[int, list[dict[str, Any]]] = {}
        column = account.template_column("dealstage")
        assert column is not None, "dealstage is a templated property"
        self._seeded_stage, self._row_of = column

    def seeded_walk(self, index: int) -> list[str]:
        """The stage ids a seeded deal went through, oldest first (re-entries included)."""
        stage_id = self._seeded_stage[self._row_of(index)]
        pipeline, stage = _STAGES[stage_id]
        open_stages: list[Stage] = [s for s in pipeline.stages if not s.closed]
        h = mix64(self._salt + index)
        if stage.closed:
            last_open = h % len(open_stages)
            walk = [s.id for s in open_stages[: last_open + 1]] + [stage.id]
        else:
            position = open_stages.index(stage)
            walk = [s.id for s in open_stages[: position + 1]]
        if len(walk) >= 3 and (h >> 20) % 6 == 0:
            back = 1 + (h >> 24) % (len(walk) - 2)  # step back from `back` to `back - 1`
            walk = walk[: back + 1] + [walk[back - 1]] + walk[back:]
        return walk

    def _seeded_entries(self, index: int) -> list[dict[str, Any]]:
        walk = self.seeded_walk(index)
        created = self.account.created_ms(index)
        # the seeded modified time, before any admin change: the walk ends by then
        modified = self.account._times(index, mix64(self.account._salt + index))[1]
        span = modified - created
        if span < 1_000 * len(walk):
            walk = walk[-1:]
        entries = []
        for k, stage_id in enumerate(walk):
            at = created if k == 0 else created + (span * k) // len(walk)
            entries.append(_entry(stage_id, at, mix64(self._salt ^ (index * 31 + k))))
        return entries

    def entries(self, index: int) -> list[dict[str, Any]]:
        """Every transition of a deal, newest first (HubSpot's order)."""
        return (self._seeded_entries(index) + self._moves.get(index, []))[::-1]

    def record_move(self, index: int, stage_id: str, at_ms: int) -> None:
        """A stage change made through the admin routes (by a user in HubSpot's UI)."""
        moves = self._moves.setdefault(index, [])
        moves.append(_entry(stage_id, at_ms, 0))

    def stage_properties(self, index: int, names: list[str]) -> dict[str, str | None]:
        """The `hs_v2_*` stage properties among `names`, derived from the deal's stage history:
        the last entry into and exit from each stage (ISO), the last completed stay and the sum
        of completed stays (milliseconds, as strings); None where the deal never was there or
        is there still."""
        oldest_first = self.entries(index)[::-1]
        stays: dict[str, list[tuple[int, int | None]]] = {}
        for k, entry in enumerate(oldest_first):
            left = oldest_first[k + 1]["timestamp"] if k + 1 < len(oldest_first) else None
            stays.setdefault(entry["value"], []).append(
                (ms_from_iso(entry["timestamp"]), None if left is None else ms_from_iso(left))
            )
        result: dict[str, str | None] = {}
        for name in names:
            prefix, stage_id = STAGE_PROPERTIES[name]
            visits = stays.get(stage_id, [])
            done = [(a, b) for a, b in visits if b is not None]
            value: str | None = None
            if prefix == ENTERED and visits:
                value = iso_from_ms(visits[-1][0])
            elif prefix == EXITED and visits and visits[-1][1] is not None:
                value = iso_from_ms(visits[-1][1])  # type: ignore[arg-type]
            elif prefix == LATEST and visits and visits[-1][1] is not None:
                value = str(visits[-1][1] - visits[-1][0])  # type: ignore[operator]
            elif prefix == CUMULATIVE and done:
                value = str(sum(b - a for a, b in done))
            result[name] = value
        return result

    def history(self, index: int, names: list[str]) -> dict[str, list[dict[str, Any]]]:
        """`propertiesWithHistory` of one deal: unknown names are left out, like HubSpot."""
        acc = self.account
        changed = acc.changed_properties(index) or {}
        result: dict[str, list[dict[str, Any]]] = {}
        for name in names:
            if acc.property_spec(name) is None:
                continue
            if name == "dealstage":
                result[name] = self.entries(index)
                continue
            value = acc.property_value(index, name)
            if value is None:
                result[name] = []
                continue
            stamp = (
                changed["hs_lastmodifieddate"]
                if name in changed and "hs_lastmodifieddate" in changed
                else iso_from_ms(acc.created_ms(index))
            )
            user = _FIRST_USER + index % 7
            result[name] = [{"value": value, "timestamp": stamp, "sourceType": "CRM_UI",
                             "sourceId": f"userId:{user}", "updatedByUserId": user}]  # fmt: skip
        return result
