"""Where an incremental scan starts: read from Dagster's own records, not a hand-kept table.

The cursor is when the organization's last completed, unfiltered scan began its pass (a
resumed scan keeps its first run's start), less a look-back for HubSpot's search index, which
shows writes a little late. Every deal modified since then is read again; none is missed.
"""

from datetime import UTC, datetime, timedelta

from dagster import AssetKey, DagsterInstance

from hubspot_deals.defs.assets import DEALS_KEY
from hubspot_deals.defs.scan_history import completed_scans


def last_scan_start(
    instance: DagsterInstance,
    organization_id: str,
    exclude_scan_id: str | None = None,
    deals_key: AssetKey = DEALS_KEY,
) -> datetime | None:
    """Start of the organization's newest successful scan that read every deal (no date range)."""
    for scan in completed_scans(instance, organization_id, limit=50, deals_key=deals_key):
        if scan.scan_id != exclude_scan_id and not scan.narrowed:
            return scan.started_at
    return None


def incremental_cursor_ms(
    instance: DagsterInstance,
    organization_id: str,
    scan_id: str,
    lookback: timedelta,
    deals_key: AssetKey = DEALS_KEY,
) -> int:
    """Epoch ms an incremental scan reads from: 0 (everything) when nothing was scanned yet."""
    started = last_scan_start(instance, organization_id, scan_id, deals_key)
    if started is None:
        return 0
    since = max(started - lookback, datetime(1970, 1, 1, tzinfo=UTC))
    return int(since.timestamp() * 1000)
