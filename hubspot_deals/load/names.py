"""Names in the destination that writers and readers share: the tables every scan loads, the
columns that tie a row to its scan, the tables derived from several scans, and the dlt pipeline
(and so the dlt state row and working folder) of each scan.

Kept free of dlt and the database drivers, so the REST layer can import it cheaply.
"""

import hashlib
import re

from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN

# Tables every scan loads, also for runs that recorded no materializations (failed early).
SCAN_TABLES = ("deals", "users", "pipelines", "pipeline_stages", "deal_properties")
# Tables a scan loads when it chooses them (other objects, a deal's associations and stage
# history); a fresh pass clears a scan's rows from them too.
CHOSEN_SCAN_TABLES = (
    *("companies", "company_properties", "contacts", "contact_properties"),
    *("line_items", "line_item_properties", "deal_associations"),
    *("deal_stage_history", "deal_stage_time"),
)
# The columns every scan row carries.
SCAN_COLUMNS = (SCAN_ID_COLUMN, ORGANIZATION_ID_COLUMN)
# Underscore columns are bookkeeping (dlt's `_dlt_*`, the checkpoint chunks), except these
# documented ones.
SHOWN_UNDERSCORE_COLUMNS = frozenset({*SCAN_COLUMNS, "_unparsed"})
# An organization's current deals: built from several scans, so no one scan's rows.
CURRENT_TABLE = "deals_current"
DERIVED_TABLES = frozenset({CURRENT_TABLE})
# dlt's table of pipeline states: one row per state version of each (per-scan) pipeline.
PIPELINE_STATE_TABLE = "_dlt_pipeline_state"


def is_data_column(name: str) -> bool:
    return not name.startswith("_") or name in SHOWN_UNDERSCORE_COLUMNS


def pipeline_name_for(scan_id: str) -> str:
    """One dlt pipeline (and so one dlt state) per scan, sharing one dataset.

    The name is a valid dlt identifier (lowercase letters, digits, underscores, at most 64);
    a scan id that had to be changed to fit gets a hash of itself, so two ids never share one.
    """
    safe = re.sub(r"[^a-z0-9_]", "_", scan_id.lower())
    name = f"hubspot_scan_{safe}"
    if safe == scan_id and len(name) <= 64:
        return name
    digest = hashlib.sha256(scan_id.encode()).hexdigest()[:10]
    return f"hubspot_scan_{safe[:40]}_{digest}"


def quote(identifier: str) -> str:
    """A SQL identifier, quoted for DuckDB and PostgreSQL alike."""
    return '"' + identifier.replace('"', '""') + '"'


def visible_columns(
    declared: list[str] | None, existing: list[str], key: list[str] | None = None
) -> list[str]:
    """A scan's columns that exist in the table without dlt internals: the key first, then the
    declared order, the scan's own bookkeeping columns last."""
    present = set(existing)
    names = [c for c in (declared or existing) if c in present and is_data_column(c)]
    first = [c for c in key or [] if c in names]
    last = [c for c in SCAN_COLUMNS if c in names]
    return first + [c for c in names if c not in first and c not in last] + last
