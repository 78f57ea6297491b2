"""The scans' DuckDB file, attached by dlt in row groups of about a chunk's size."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hubspot_deals.destination import make_pipeline
from hubspot_deals.duckdb_file import ROW_GROUP_SIZE
from hubspot_deals.settings import DATASET_NAME, get_settings


def chunk(start: int, rows: int) -> pa.Table:
    ids = pa.array(range(start, start + rows), pa.int64())
    return pa.table({"id": ids, "name": pa.array([f"deal {i}" for i in ids.to_pylist()])})


@pytest.mark.parametrize("file_name", ["hubspot_deals.duckdb", "it's a deals file.duckdb"])
def test_each_load_starts_a_row_group_and_the_file_opens_by_path(
    project_home: Path, monkeypatch, file_name: str
) -> None:
    monkeypatch.setenv("HUBSPOT_DEALS_DUCKDB_PATH", str(project_home / file_name))
    get_settings.cache_clear()
    pipeline = make_pipeline("row_groups")
    for n in range(3):  # three loads of 15,000 rows: three row groups, not one of 45,000
        pipeline.run([chunk(n * 15_000, 15_000)], table_name="deals", write_disposition="append")
    catalog = Path(file_name).stem
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*), current_database() FROM deals") == [
            (45_000, catalog)
        ]
    with duckdb.connect(str(project_home / file_name), read_only=True) as conn:
        table = f"{DATASET_NAME}.deals"
        assert conn.execute(f"SELECT count(*), sum(id) FROM {table}").fetchone() == (
            45_000,
            sum(range(45_000)),
        )
        assert row_groups(conn, table) == [15_000, 15_000, 15_000]
    # One load larger than a row group is split at ROW_GROUP_SIZE (20,480), not at 122,880.
    pipeline.run([chunk(45_000, 45_000)], table_name="deals", write_disposition="append")
    with duckdb.connect(str(project_home / file_name), read_only=True) as conn:
        assert row_groups(conn, table)[3:] == [ROW_GROUP_SIZE, ROW_GROUP_SIZE, 45_000 - 40_960]
    assert ROW_GROUP_SIZE == 20_480


def row_groups(conn: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    """The rows of each of the table's row groups, in order."""
    return [
        rows
        for _, rows in conn.execute(
            "SELECT row_group_id, sum(count) FROM pragma_storage_info(?) "
            "WHERE column_name = 'id' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1",
            [table],
        ).fetchall()
    ]
