"""A scan's rows and checkpoint in the destination, through its dlt pipeline: the checkpoint it
committed last, clearing its rows before a fresh pass, dropping the rows of chunks that never
committed, and keeping the newer row of a record read twice.

Plain dlt (any destination with a SQL client), no Dagster: `hubspot_deals.source.run_scan` and
the Dagster assets use these alike.
"""

from typing import Any

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from hubspot_deals.load.names import CHOSEN_SCAN_TABLES, SCAN_TABLES
from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.source.checkpoint import Checkpoint


class RowsNotDeletableError(RuntimeError):
    """The destination cannot delete rows (dlt's `filesystem`: files, read through views)."""


def _delete(pipeline: dlt.Pipeline, client: Any, table: str, where: str, *args: Any) -> None:
    """Deletes rows, or says why the destination cannot: a scan into files resumes and loads,
    but replacing or dropping rows it already wrote needs a new scan id (or dataset)."""
    if pipeline.destination.destination_type.endswith(".filesystem"):
        raise RowsNotDeletableError(
            f"scan rows of {table} would have to be deleted ({where}), which dlt's filesystem "
            "destination cannot do: run the scan under a new scan id or into a new dataset"
        )
    name = client.make_qualified_table_name(table)
    client.execute_sql(f"DELETE FROM {name} WHERE {where}", *args)


def read_checkpoint(pipeline: dlt.Pipeline, table: str = "deals") -> Checkpoint | None:
    """The scan's last committed checkpoint of an object's table, restored from the
    destination."""
    pipeline.sync_destination()
    resources = pipeline.state.get("sources", {}).get("hubspot", {}).get("resources", {})
    return Checkpoint.from_state(resources.get(table, {}).get("checkpoint"))


def clear_scan_rows(pipeline: dlt.Pipeline, scan_id: str) -> int:
    """Deletes a scan's rows from every table, before a fresh pass over it. Returns rows deleted."""
    deleted = 0
    with pipeline.sql_client() as client:
        for table in (*SCAN_TABLES, *CHOSEN_SCAN_TABLES):
            name = client.make_qualified_table_name(table)
            try:
                rows = client.execute_sql(
                    f"SELECT count(*) FROM {name} WHERE {SCAN_ID_COLUMN} = %s", scan_id
                )
            except DatabaseUndefinedRelation:
                continue
            count = int(rows[0][0]) if rows else 0
            if count:
                _delete(pipeline, client, table, f"{SCAN_ID_COLUMN} = %s", scan_id)
            deleted += count
    return deleted


def delete_uncommitted_chunks(
    pipeline: dlt.Pipeline, scan_id: str, committed_chunks: int, table: str = "deals"
) -> int:
    """Deletes the scan's rows of an object's table from chunks after the last committed
    checkpoint (a load that wrote its rows but died before committing); returns how many there
    were."""
    with pipeline.sql_client() as client:
        deals = client.make_qualified_table_name(table)
        try:
            rows = client.execute_sql(
                f"SELECT count(*) FROM {deals} WHERE {SCAN_ID_COLUMN} = %s AND _scan_chunk > %s",
                scan_id,
                committed_chunks,
            )
        except DatabaseUndefinedRelation:
            return 0
        count = int(rows[0][0]) if rows else 0
        if count:
            where = f"{SCAN_ID_COLUMN} = %s AND _scan_chunk > %s"
            _delete(pipeline, client, table, where, scan_id, committed_chunks)
        return count


def keep_newest_deal_rows(pipeline: dlt.Pipeline, scan_id: str, table: str = "deals") -> int:
    """A record read live and then archived during the same scan has two rows: keep the newer."""
    with pipeline.sql_client() as client:
        deals = client.make_qualified_table_name(table)
        rows = client.execute_sql(
            f"SELECT count(*) - count(DISTINCT id) FROM {deals} WHERE {SCAN_ID_COLUMN} = %s",
            scan_id,
        )
        duplicates = int(rows[0][0]) if rows else 0
        if duplicates:
            newer = (
                f"{SCAN_ID_COLUMN} = %s AND EXISTS (SELECT 1 FROM {deals} n WHERE "
                f"n.{SCAN_ID_COLUMN} = {deals}.{SCAN_ID_COLUMN} AND n.id = {deals}.id "
                f"AND n._scan_chunk > {deals}._scan_chunk)"
            )
            _delete(pipeline, client, table, newer, scan_id)
        return duplicates
