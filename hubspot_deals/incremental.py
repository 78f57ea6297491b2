"""Where an incremental scan starts: read from Dagster's own records, not a hand-kept table.

The cursor is when the organization's last completed, unfiltered scan began its pass (a
resumed scan keeps its first run's start), less a look-back for HubSpot's search index, which
shows writes a little late. Every deal modified since then is read again; none is missed.
"""

from datetime import UTC, datetime, timedelta

from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from hubspot_deals import tags

DEALS_KEY = AssetKey(["hubspot", "deals"])


def last_scan_start(
    instance: DagsterInstance, organization_id: str, exclude_scan_id: str | None = None
) -> datetime | None:
    """Start of the organization's newest successful scan that read every deal (no date range)."""
    records = instance.get_run_records(
        RunsFilter(tags={tags.ORGANIZATION: organization_id}, statuses=[DagsterRunStatus.SUCCESS]),
        limit=50,
    )
    for record in records:
        run = record.dagster_run
        if exclude_scan_id and run.tags.get(tags.PARTITION) == exclude_scan_id:
            continue
        events = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for event in events:
            mat = event.event_log_entry.asset_materialization
            if mat is None or mat.asset_key != DEALS_KEY:
                continue
            meta = mat.metadata
            filters = meta["filters"].value if "filters" in meta else {}
            started = meta.get("scan_started_at")
            if filters.get("start_date") or filters.get("end_date") or started is None:
                continue
            return datetime.fromisoformat(str(started.value))
    return None


def incremental_cursor_ms(
    instance: DagsterInstance,
    organization_id: str,
    scan_id: str,
    lookback: timedelta,
) -> int:
    """Epoch ms an incremental scan reads from: 0 (everything) when nothing was scanned yet."""
    started = last_scan_start(instance, organization_id, exclude_scan_id=scan_id)
    if started is None:
        return 0
    since = max(started - lookback, datetime(1970, 1, 1, tzinfo=UTC))
    return int(since.timestamp() * 1000)
