"""DuckDB read copies: a scan's rows copied in key order, served without the destination's
lock, waited for while another process holds the file, and deleted when the scan goes."""

import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_deals.load import (
    ROW_COLUMN,
    DestinationBusyError,
    DestinationError,
    ReadCopies,
    TableRows,
    TableSpec,
)
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.load.conftest import deals, load_scan


def copies_of(cache: Path, lock_wait_seconds: float = 5.0) -> ReadCopies:
    return ReadCopies(
        main_file=get_settings().duckdb_file,
        cache_dir=cache,
        max_copies=2,
        lock_wait_seconds=lock_wait_seconds,
        read_memory_limit="64MB",
        copy_memory_limit="192MB",
    )


def test_a_copy_holds_the_scans_rows_in_key_order_and_goes_with_the_scan(
    project_home: Path, tmp_path: Path
) -> None:
    load_scan("scan-a", {"deals": deals(3, 1, 2), "users": [{"id": "u2"}, {"id": "u1"}]}, 1)
    load_scan("scan-b", {"deals": deals(9)}, 1)
    copies = copies_of(tmp_path / "copies")
    declared = [TableSpec("deals"), TableSpec("users"), TableSpec("companies")]
    copy = copies.copy("scan-a", "run-1", declared)
    assert copy.tables == {
        "deals": TableRows(
            "deals", 3, ["id", "dealname", "amount", "_scan_id", "_organization_id"]
        ),
        "users": TableRows("users", 2, ["id", "_scan_id", "_organization_id"]),
    }
    rows = copy.connection.execute(f"SELECT {ROW_COLUMN}, id FROM deals ORDER BY 1").fetchall()
    assert rows == [(1, "1"), (2, "2"), (3, "3")]
    assert copy.types[("deals", "amount")] == "DOUBLE"
    assert copies.copy("scan-a", "run-1", declared) is copy  # kept, not built again
    assert len(list((tmp_path / "copies").glob("*.duckdb"))) == 1
    copies.forget_scan("scan-a")
    assert list((tmp_path / "copies").glob("*.duckdb")) == []
    copies.close()


def test_a_copy_waits_for_a_held_file_then_says_it_is_busy(
    project_home: Path, tmp_path: Path
) -> None:
    load_scan("held-1", {"deals": deals(1, 2)}, 1)
    holder = subprocess.Popen(  # another process holding the file, as a loading scan does
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.readline()",
            str(get_settings().duckdb_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    copies = copies_of(tmp_path / "copies", lock_wait_seconds=1.0)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DestinationBusyError, match="could not be opened within 1s") as busy:
            copies.copy("held-1", "run-1", [TableSpec("deals")])
        assert busy.value.wait_seconds == 1.0
    finally:
        holder.communicate("\n", timeout=60)
    assert copies.copy("held-1", "run-1", [TableSpec("deals")]).tables["deals"].row_count == 2
    copies.close()


def test_no_destination_file_is_a_destination_error(tmp_path: Path) -> None:
    copies = ReadCopies(tmp_path / "none.duckdb", tmp_path / "copies", 2, 1.0, "64MB", "192MB")
    with pytest.raises(DestinationError, match="none.duckdb does not exist"):
        copies.copy("s", "v", [TableSpec("deals")])
