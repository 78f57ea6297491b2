"""Removing a scan from the destination: its rows from every table, its dlt state and its dlt
working folder, so that nothing of it is left and a new scan with its id starts afresh.

Tables derived from several scans (an organization's current deals) are not the scan's and
are left alone; dlt's own tables are, except its pipeline-state rows of the scan's pipeline.
The rows and the state rows go in one transaction: a scan is removed whole or not at all.
"""

import shutil
from pathlib import Path

from hubspot_deals.load.names import (
    DERIVED_TABLES,
    PIPELINE_STATE_TABLE,
    pipeline_name_for,
    quote,
)
from hubspot_deals.load.reads import DestinationError, while_duckdb_locked
from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.settings import DATASET_NAME, Settings, get_settings


def remove_scan(
    scan_id: str,
    settings: Settings | None = None,
    lock_wait_seconds: float = 30.0,
    connect_timeout_seconds: int = 10,
) -> dict[str, int]:
    """Deletes the scan from the destination; returns the data rows deleted by table (the
    scan API reports their sum, the ETL API the deals). Raises `DestinationBusyError` when
    DuckDB stays locked by a loading scan for `lock_wait_seconds`, `DestinationError` when the
    destination cannot be used; the working folder goes only once the rows are gone."""
    settings = settings or get_settings()
    pipeline_name = pipeline_name_for(scan_id)
    if settings.destination == "postgres":
        deleted = _remove_postgres(settings, scan_id, pipeline_name, connect_timeout_seconds)
    else:
        deleted = _remove_duckdb(settings, scan_id, pipeline_name, lock_wait_seconds)
    remove_working_folder(settings.pipelines_dir, pipeline_name)
    return deleted


def remove_working_folder(pipelines_dir: Path, pipeline_name: str) -> bool:
    """The pipeline's dlt working folder (its local state cache and packages), only when it
    is directly under `pipelines_dir`. Returns whether there was one."""
    root = pipelines_dir.resolve()
    folder = (root / pipeline_name).resolve()
    if folder.parent != root or not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _is_scan_table(table: str) -> bool:
    return not table.startswith("_dlt") and table not in DERIVED_TABLES


def _remove_duckdb(
    settings: Settings, scan_id: str, pipeline_name: str, lock_wait_seconds: float
) -> dict[str, int]:
    import duckdb

    path = settings.duckdb_file
    if not path.exists():
        return {}
    try:
        connection = while_duckdb_locked(
            lambda: duckdb.connect(str(path), config={"memory_limit": settings.duckdb_memory()}),
            lock_wait_seconds,
            "opened to remove the scan",
        )
    except duckdb.Error as exc:
        raise DestinationError(f"the DuckDB destination could not be opened: {exc}") from exc
    try:
        with connection:
            tables = [
                table
                for (table,) in connection.execute(
                    "SELECT table_name FROM duckdb_columns() WHERE database_name = "
                    "current_database() AND schema_name = ? AND column_name = ? "
                    "ORDER BY table_name",
                    [DATASET_NAME, SCAN_ID_COLUMN],
                ).fetchall()
                if _is_scan_table(table)
            ]
            has_state = connection.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ?",
                [DATASET_NAME, PIPELINE_STATE_TABLE],
            ).fetchone()[0]
            deleted: dict[str, int] = {}
            connection.execute("BEGIN")
            for table in tables:
                deleted[table] = connection.execute(
                    f"DELETE FROM {DATASET_NAME}.{quote(table)} WHERE {SCAN_ID_COLUMN} = ?",
                    [scan_id],
                ).fetchone()[0]
            if has_state:
                connection.execute(
                    f"DELETE FROM {DATASET_NAME}.{PIPELINE_STATE_TABLE} WHERE pipeline_name = ?",
                    [pipeline_name],
                )
            connection.execute("COMMIT")
            return deleted
    except duckdb.Error as exc:
        raise DestinationError(f"the DuckDB destination refused the removal: {exc}") from exc


def _remove_postgres(
    settings: Settings, scan_id: str, pipeline_name: str, connect_timeout_seconds: int
) -> dict[str, int]:
    import psycopg2

    try:
        conn = psycopg2.connect(
            settings.postgres_dsn.get_secret_value(),
            connect_timeout=connect_timeout_seconds,
            application_name="hubspot_deals_remove",
        )
    except psycopg2.Error as exc:
        raise DestinationError(f"PostgreSQL could not be reached: {_one_line(exc)}") from exc
    try:
        with conn, conn.cursor() as cur:  # one transaction: committed, or rolled back on error
            cur.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
                "AND column_name = %s ORDER BY table_name",
                (DATASET_NAME, SCAN_ID_COLUMN),
            )
            tables = [table for (table,) in cur.fetchall() if _is_scan_table(table)]
            cur.execute("SELECT to_regclass(%s)", (f"{DATASET_NAME}.{PIPELINE_STATE_TABLE}",))
            has_state = cur.fetchone()[0] is not None
            deleted: dict[str, int] = {}
            for table in tables:
                cur.execute(
                    f"DELETE FROM {DATASET_NAME}.{quote(table)} WHERE {SCAN_ID_COLUMN} = %s",
                    (scan_id,),
                )
                deleted[table] = cur.rowcount
            if has_state:
                cur.execute(
                    f"DELETE FROM {DATASET_NAME}.{PIPELINE_STATE_TABLE} WHERE pipeline_name = %s",
                    (pipeline_name,),
                )
        return deleted
    except psycopg2.Error as exc:
        raise DestinationError(f"PostgreSQL refused the removal: {_one_line(exc)}") from exc
    finally:
        conn.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
