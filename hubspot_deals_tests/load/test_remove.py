"""Removing a scan: its rows from every table, its dlt state rows and its working folder, and
nothing of any other scan or of the tables built from several scans."""

import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_deals.load import DestinationBusyError, remove_scan
from hubspot_deals.load.names import CURRENT_TABLE, pipeline_name_for
from hubspot_deals.load.reads import DestinationReader
from hubspot_deals.settings import DATASET_NAME, Settings, get_settings
from hubspot_deals_tests.load.conftest import deals, load_scan


def counts(settings: Settings, table: str) -> dict[str, int]:
    reader = DestinationReader(settings)
    column = "pipeline_name" if table == "_dlt_pipeline_state" else "_scan_id"
    return {
        key: int(n)
        for key, n in reader.query(
            f"SELECT {column}, count(*) FROM {DATASET_NAME}.{table} GROUP BY 1 ORDER BY 1"
        )
    }


def test_remove_scan_deletes_its_rows_state_and_folder_and_nothing_else(
    destination: Settings,
) -> None:
    gone, kept = "gone-1", "kept-1"
    stages = [{"pipeline_id": "default", "id": s, "label": s} for s in ("new", "won")]
    load_scan(kept, {"deals": deals(1, 2, 3), "users": [{"id": "u1"}, {"id": "u2"}]}, 1)
    load_scan(gone, {"deals": deals(1, 2, 3), "users": [{"id": "u1"}]}, 1)
    # A second chunk, a table outside the five every scan loads, and a second state version.
    load_scan(
        gone,
        {"deals": deals(4, 5), "pipeline_stages": stages, "companies": [{"id": "c1"}]},
        2,
    )
    reader = DestinationReader(destination)
    # An organization's current deals, built from both scans: no one scan's rows.
    _execute(
        destination,
        f"CREATE TABLE {DATASET_NAME}.{CURRENT_TABLE} AS SELECT * FROM {DATASET_NAME}.deals",
    )
    gone_folder = destination.pipelines_dir / pipeline_name_for(gone)
    kept_folder = destination.pipelines_dir / pipeline_name_for(kept)
    assert gone_folder.is_dir() and kept_folder.is_dir()
    states = counts(destination, "_dlt_pipeline_state")
    assert states[pipeline_name_for(gone)] == 2

    deleted = remove_scan(gone, destination)

    assert deleted == {"companies": 1, "deals": 5, "pipeline_stages": 2, "users": 1}
    assert counts(destination, "deals") == {kept: 3}
    assert counts(destination, "users") == {kept: 2}
    assert counts(destination, "pipeline_stages") == {}
    assert counts(destination, "companies") == {}
    assert counts(destination, CURRENT_TABLE) == {gone: 5, kept: 3}
    after = counts(destination, "_dlt_pipeline_state")
    assert pipeline_name_for(gone) not in after
    assert after[pipeline_name_for(kept)] == states[pipeline_name_for(kept)]
    assert not gone_folder.exists() and kept_folder.is_dir()
    assert reader.columns("deals")  # the tables stay, for the other scans
    # Removing it again finds nothing left.
    assert remove_scan(gone, destination) == {
        "companies": 0,
        "deals": 0,
        "pipeline_stages": 0,
        "users": 0,
    }


def test_remove_scan_of_an_empty_destination_deletes_nothing(destination: Settings) -> None:
    folder = destination.pipelines_dir / pipeline_name_for("never-loaded")
    folder.mkdir(parents=True)
    (folder / "state.json").write_text("{}")
    assert remove_scan("never-loaded", destination) == {}
    assert not folder.exists()


def _execute(settings: Settings, sql: str) -> None:
    if settings.destination == "postgres":
        import psycopg2

        with psycopg2.connect(settings.postgres_dsn.get_secret_value()) as conn:
            conn.cursor().execute(sql)
        conn.close()
        return
    import duckdb

    with duckdb.connect(str(settings.duckdb_file)) as conn:
        conn.execute(sql)


def test_remove_scan_waits_for_a_locked_duckdb_then_leaves_the_scan_whole(
    project_home: Path,
) -> None:
    settings = get_settings()
    load_scan("held-1", {"deals": deals(1, 2)}, 1)
    folder = settings.pipelines_dir / pipeline_name_for("held-1")
    holder = subprocess.Popen(  # another process holding the file, as a loading scan does
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.readline()",
            str(settings.duckdb_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DestinationBusyError, match="within 1s"):
            remove_scan("held-1", settings, lock_wait_seconds=1.0)
    finally:
        holder.communicate("\n", timeout=60)
    assert counts(settings, "deals") == {"held-1": 2}  # nothing removed: retry later
    assert folder.is_dir()
    assert remove_scan("held-1", settings) == {"deals": 2}
    assert not folder.exists()
