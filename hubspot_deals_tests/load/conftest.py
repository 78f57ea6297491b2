"""A destination of a test's own, DuckDB or PostgreSQL, loaded by dlt as scans load it."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from hubspot_deals.load.destination import make_pipeline
from hubspot_deals.load.names import pipeline_name_for
from hubspot_deals.settings import Settings, get_settings
from hubspot_deals_tests.conftest import postgres_database


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def destination(
    request: pytest.FixtureRequest, project_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The scans' destination, empty, with the settings the code location would have."""
    if request.param == "duckdb":
        yield get_settings()
        return
    with postgres_database(f"hubspot_deals_load_{os.getpid()}") as dsn:
        monkeypatch.setenv("HUBSPOT_DEALS_DESTINATION", "postgres")
        monkeypatch.setenv("HUBSPOT_DEALS_POSTGRES_DSN", dsn)
        get_settings.cache_clear()
        yield get_settings()
        get_settings.cache_clear()


def load_scan(scan_id: str, tables: dict[str, list[dict[str, Any]]], checkpoint: int) -> None:
    """Loads rows into the scan's own pipeline as a scan does: every row carries the scan and
    organization ids, and the scan's dlt state (its checkpoint) is stored in the destination."""
    keys = {"users": ("_scan_id", "id"), "pipeline_stages": ("_scan_id", "pipeline_id", "id")}

    def resource(table: str, rows: list[dict[str, Any]]) -> Any:
        @dlt.resource(
            name=table,
            primary_key=keys.get(table, ()),
            write_disposition="merge" if table in keys else "append",
        )
        def rows_of_table() -> Iterator[dict[str, Any]]:
            dlt.current.resource_state()["checkpoint"] = checkpoint
            for row in rows:
                yield {**row, "_scan_id": scan_id, "_organization_id": "org-1"}

        return rows_of_table

    @dlt.source(name="hubspot")
    def scan_source() -> list[Any]:
        return [resource(table, rows) for table, rows in tables.items()]

    pipeline = make_pipeline(pipeline_name_for(scan_id))
    pipeline.run(scan_source()).raise_on_failed_jobs()


def deals(*ids: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "dealname": f"Deal {i}", "amount": i * 10.0} for i in ids]
