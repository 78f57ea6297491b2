"""The scans' DuckDB file, attached by dlt in row groups of about a chunk's size, each load
within a memory limit sized by the table it writes."""

import logging
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from hubspot_deals import settings as settings_module
from hubspot_deals.load.destination import make_pipeline
from hubspot_deals.load.duckdb_file import ROW_GROUP_SIZE
from hubspot_deals.load.failures import classify_failure
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


def widen(pipeline, columns: int) -> None:
    """Another scan's load: the shared deals table gets `columns` more property columns."""
    wide = pa.table({"id": pa.array([-1], pa.int64()),
                     **{f"property_{i}": pa.array([1.5]) for i in range(columns)}})  # fmt: skip
    pipeline.run([wide], table_name="deals", write_disposition="append")


def test_a_load_is_sized_by_the_table_it_writes_not_by_its_own_columns(project_home: Path) -> None:
    pipeline = make_pipeline("widened")
    widen(pipeline, 1_000)
    # 5,000 rows of 2 columns into the 1,001-column table: 64 MB (the limit for the load's own
    # width) runs out of memory; the limit for the table's width loads them.
    pipeline.run([chunk(0, 5_000)], table_name="deals", write_disposition="append")
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*), sum(id) FROM deals WHERE id >= 0") == [
            (5_000, sum(range(5_000)))
        ]


def test_an_out_of_memory_load_is_loaded_once_more_at_twice_the_limit(
    project_home: Path, monkeypatch, caplog
) -> None:
    pipeline = make_pipeline("retried")
    widen(pipeline, 1_000)
    # A sizing rule that gives every table 64 MB: this load needs more, and fits in 128 MB.
    # The table: id, 1,000 properties and name (dlt adds no columns of its own to Arrow rows).
    monkeypatch.setattr(settings_module, "DUCKDB_BASE_MB", 64)
    monkeypatch.setattr(settings_module, "DUCKDB_MB_PER_COLUMN", 0.0)
    with caplog.at_level(logging.WARNING, logger="dlt"):
        pipeline.run([chunk(0, 5_000)], table_name="deals", write_disposition="append")
    retries = [r.getMessage() for r in caplog.records if "once more" in r.getMessage()]
    assert retries == [
        "loading deals (1002 columns) did not fit in 64MB: loading it once more at 128MB"
    ]
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM deals WHERE id >= 0") == [(5_000,)]


def test_a_load_that_does_not_fit_twice_is_a_configuration_error(
    project_home: Path, monkeypatch
) -> None:
    pipeline = make_pipeline("too_small")
    widen(pipeline, 1_000)
    monkeypatch.setattr(settings_module, "DUCKDB_BASE_MB", 20)
    monkeypatch.setattr(settings_module, "DUCKDB_MB_PER_COLUMN", 0.0)
    with pytest.raises(PipelineStepFailed) as raised:
        pipeline.run([chunk(0, 5_000)], table_name="deals", write_disposition="append")
    failure = classify_failure(raised.value)
    assert failure is not None
    assert failure.metadata["error_category"] == "configuration_error"
    assert failure.metadata["transient"] is False  # the resume sensor leaves it
    assert failure.description.startswith(
        "DuckDB ran out of memory: loading deals (1002 columns) did not fit in 20MB and 40MB. "
        "Set HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT above 40MB"
    )
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM deals WHERE id >= 0") == [(0,)]
