"""The load layer: every write to the destination (DuckDB file or PostgreSQL) and the SQL
reads that the assets and the REST layer share.

- `destination`: dlt destinations and per-scan pipelines; waiting out a busy destination.
- `scan_rows`: a scan's checkpoint, clearing and de-duplicating its rows (plain dlt).
- `duckdb_file`: dlt's DuckDB destination with the file attached in chunk-sized row groups.
- `names`: tables, scan columns and per-scan pipeline names that writers and readers share.
- `remove`: removing a scan (rows, dlt state, dlt working folder).
- `indexes`: the PostgreSQL indexes the API's pages need, created when scans load.
- `failures`: the one classification of what stops a scan (category, transient or not), with
  no Dagster: the code location makes its `Failure` from it (`hubspot_deals.defs.failures`).
- `reads`: read-only SQL on either destination, and the one wait for a DuckDB file held by a
  loading scan (`while_duckdb_locked`); `summary` and `current`: a scan's deal summary and an
  organization's current deals.
- `read_copies`: per-scan read copies of the DuckDB file (built, kept, evicted and deleted
  here), so that the REST layer's reads never hold the destination's lock.
- `postgres_pages`: a scan's pages, downloads and deal queries on PostgreSQL (deferred
  joins, deep-page anchors) over `postgres_pool`'s read connections; `deal_queries`: the
  deal query SQL both destinations run; `values`: database values as JSON.

The names below are imported on first use (PEP 562): the REST layer imports what it needs
without loading dlt.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SCAN_TABLES": "names",
    "SCAN_COLUMNS": "names",
    "SHOWN_UNDERSCORE_COLUMNS": "names",
    "CURRENT_TABLE": "names",
    "is_data_column": "names",
    "pipeline_name_for": "names",
    "quote": "names",
    "visible_columns": "names",
    "DestinationError": "reads",
    "DestinationBusyError": "reads",
    "DestinationReader": "reads",
    "count_scan_rows": "reads",
    "destination_connection": "reads",
    "is_lock_error": "reads",
    "while_duckdb_locked": "reads",
    "TableSpec": "reads",
    "TableRows": "reads",
    "TableMissing": "reads",
    "EXPORT_BATCH_ROWS": "reads",
    "PostgresPages": "postgres_pages",
    "DealQuery": "deal_queries",
    "DealRows": "deal_queries",
    "DealSql": "deal_queries",
    "MissingDealProperty": "deal_queries",
    "ReadCopies": "read_copies",
    "ReadCopy": "read_copies",
    "ROW_COLUMN": "read_copies",
    "remove_scan": "remove",
    "ensure_page_indexes": "indexes",
    "page_index_name": "indexes",
    "scan_key_columns": "indexes",
    "primary_keys_from_dlt_schemas": "indexes",
    "deal_summary": "summary",
    "ScanLayer": "current",
    "rebuild_current_deals": "current",
    "make_pipeline": "destination",
    "make_destination": "destination",
    "definitions_pipeline": "destination",
    "read_checkpoint": "scan_rows",
    "clear_scan_rows": "scan_rows",
    "delete_uncommitted_chunks": "scan_rows",
    "keep_newest_deal_rows": "scan_rows",
    "when_destination_free": "destination",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
