"""The `(_scan_id, <key>)` index of each scan table on PostgreSQL, for the API's fast pages.

The API reads a scan's rows a page at a time in key order; deep pages stay fast with a
"deferred join" whose keys come from an index-only scan of `(_scan_id, <key>)`. dlt creates no
such index (its `create_indexes` is off), so the scan creates it right after its first load
(`ensure_page_indexes`): the tables are small then on a new database, and every later scan
finds it in place. `CREATE INDEX CONCURRENTLY` does not block other scans' loads. The index
names (`<table>__api_scan_key`) are the ones the API itself created before, so databases that
have them keep them. HUBSPOT_DEALS_POSTGRES_CREATE_INDEXES=false leaves indexes to the
database's owner. DuckDB needs none: the API reads a scan from a copy of its own.

The key is the one the API pages by (`scan_key_columns`): index and page order have one owner.
"""

import logging
import time

from hubspot_deals.load.names import DERIVED_TABLES, is_data_column, quote
from hubspot_deals.load.reads import DestinationError
from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.settings import DATASET_NAME, Settings, get_settings

log = logging.getLogger(__name__)


def page_index_name(table: str) -> str:
    return f"{table[:40]}__api_scan_key"


def scan_key_columns(primary_key: list[str], existing: list[str]) -> list[str]:
    """Paging order: the dlt primary key without `_scan_id`, else `id`, `name`, or all."""
    key = [c for c in primary_key if c != SCAN_ID_COLUMN and c in existing]
    if key:
        return key
    for candidate in (["pipeline_id", "id"], ["id"], ["name"]):
        if all(c in existing for c in candidate):
            return candidate
    return [c for c in existing if is_data_column(c)][:1] or existing[:1]


def primary_keys_from_dlt_schemas(schema_json_texts: list[str]) -> dict[str, list[str]]:
    """Primary-key columns by table from dlt's stored schemas (`_dlt_version.schema`)."""
    import orjson

    keys: dict[str, list[str]] = {}
    for text in schema_json_texts:
        try:
            schema = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        for table, spec in (schema.get("tables") or {}).items():
            columns = spec.get("columns") or {}
            key = [name for name, col in columns.items() if col.get("primary_key")]
            if key:
                keys[table] = key
    return keys


def ensure_page_indexes(
    settings: Settings | None = None, connect_timeout_seconds: int = 10
) -> list[str]:
    """Creates the missing page index of every scan table (PostgreSQL; nothing on DuckDB or
    when turned off); returns the names created. An index a failed concurrent build left
    invalid is dropped and built again. Raises `DestinationError` when PostgreSQL refuses."""
    settings = settings or get_settings()
    if settings.destination != "postgres" or not settings.postgres_create_indexes:
        return []
    import psycopg2

    created: list[str] = []
    try:
        conn = psycopg2.connect(
            settings.postgres_dsn.get_secret_value(),
            connect_timeout=connect_timeout_seconds,
            application_name="hubspot_deals_indexes",
        )
        # Autocommit, and no `with conn`: that opens a transaction, which CONCURRENTLY refuses.
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for table, wanted in _wanted_indexes(cur).items():
                    if _ensure_index(cur, table, wanted):
                        created.append(page_index_name(table))
        finally:
            conn.close()
    except psycopg2.Error as exc:
        detail = " ".join(str(exc).split())[:300]
        raise DestinationError(f"PostgreSQL refused a page index: {detail}") from exc
    return created


def _wanted_indexes(cur: object) -> dict[str, list[str]]:
    """Table -> the index columns its pages need: `_scan_id`, then the table's paging key."""
    cur.execute(  # type: ignore[attr-defined]
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (DATASET_NAME,),
    )
    catalog: dict[str, list[str]] = {}
    for table, column in cur.fetchall():  # type: ignore[attr-defined]
        catalog.setdefault(table, []).append(column)
    keys: dict[str, list[str]] = {}
    if "_dlt_version" in catalog:
        cur.execute(  # type: ignore[attr-defined]
            f"SELECT DISTINCT ON (schema_name) schema FROM {DATASET_NAME}._dlt_version "
            "ORDER BY schema_name, inserted_at DESC"
        )
        keys = primary_keys_from_dlt_schemas([row[0] for row in cur.fetchall()])  # type: ignore[attr-defined]
    return {
        table: [SCAN_ID_COLUMN, *scan_key_columns(keys.get(table, []), columns)]
        for table, columns in catalog.items()
        if SCAN_ID_COLUMN in columns
        and not table.startswith("_dlt")
        and table not in DERIVED_TABLES
    }


def _ensure_index(cur: object, table: str, wanted: list[str]) -> bool:
    """Whether an index was built: none is when one starting with `wanted` is valid."""
    cur.execute(  # type: ignore[attr-defined]
        """
        SELECT i.indexrelid::regclass::text, i.indisvalid,
               array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                     ORDER BY k.o)
        FROM pg_index i
        WHERE i.indrelid = to_regclass(%s)
        """,
        (f"{DATASET_NAME}.{quote(table)}",),
    )
    for index_name, valid, columns in cur.fetchall():  # type: ignore[attr-defined]
        if list(columns[: len(wanted)]) == wanted:
            if valid:
                return False
            cur.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index_name}")  # type: ignore[attr-defined]
    name = page_index_name(table)
    started = time.monotonic()
    cur.execute(  # type: ignore[attr-defined]
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON "
        f"{DATASET_NAME}.{quote(table)} ({', '.join(quote(c) for c in wanted)})"
    )
    log.info(
        "created index %s on %s.%s in %.1fs", name, DATASET_NAME, table, time.monotonic() - started
    )
    return True
