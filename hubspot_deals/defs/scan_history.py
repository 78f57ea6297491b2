"""An organization's completed scans, read from Dagster's own records (runs and their deals
materializations), for the incremental cursor and for `deals_current`."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from hubspot_deals.defs.assets import DEALS_KEY
from hubspot_deals.scan import Tag


@dataclass(frozen=True)
class CompletedScan:
    scan_id: str
    metadata: dict[str, Any]  # the deals materialization's metadata values

    @property
    def started_at(self) -> datetime:
        return datetime.fromisoformat(str(self.metadata["scan_started_at"]))

    @property
    def filters(self) -> dict[str, Any]:
        return self.metadata.get("filters") or {}

    @property
    def scan_type(self) -> str:
        return str(self.metadata.get("scan_type", "full"))

    @property
    def narrowed(self) -> bool:
        """Whether the scan read only part of the deals (a createdate range or one pipeline)."""
        f = self.filters
        return bool(f.get("start_date") or f.get("end_date") or f.get("pipeline"))


def completed_scans(
    instance: DagsterInstance,
    organization_id: str,
    limit: int | None = None,
    deals_key: AssetKey = DEALS_KEY,
) -> Iterator[CompletedScan]:
    """The organization's successful scan runs, newest first (a scan run again appears again):
    those that materialized `deals_key` (an instance's own deals asset)."""
    records = instance.get_run_records(
        RunsFilter(tags={Tag.ORGANIZATION: organization_id}, statuses=[DagsterRunStatus.SUCCESS]),
        limit=limit,
    )
    for record in records:
        run = record.dagster_run
        scan_id = run.tags.get(Tag.PARTITION)
        if not scan_id:
            continue
        events = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for event in events:
            mat = event.event_log_entry.asset_materialization
            if mat is not None and mat.asset_key == deals_key and "scan_started_at" in mat.metadata:
                yield CompletedScan(scan_id, {k: v.value for k, v in mat.metadata.items()})
                break
