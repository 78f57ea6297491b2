"""The source on its own: `hubspot_crm` and `run_scan` in a plain dlt script, in a process where
Dagster and FastAPI cannot be imported, into DuckDB, PostgreSQL and dlt's filesystem destination
(Parquet), with every row checked against the sandbox; and a scan that crashes after a
checkpoint resumes there and reads nothing twice."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from hubspot_deals_tests.conftest import fake_token, postgres_database
from hubspot_deals_tests.expected import typed
from hubspot_sandbox.process import SandboxServer

DATASET = "hubspot_crm"
PROPERTIES = ["dealname", "amount", "closedate", "dealstage"]
# The properties every deal scan reads, and the deal's own fields.
READ = ["hs_object_id", "createdate", "hs_lastmodifieddate", *PROPERTIES]
DEALS = 3000  # 150 of them archived
DESTINATIONS = [
    "duckdb",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "filesystem",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    token = fake_token()
    with SandboxServer(deals=DEALS, seed=16, tokens=[token]) as server:
        server.token_for_tests = token  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, target): a DuckDB file, a PostgreSQL database of this test's own, or a folder."""
    kind = request.param
    if kind == "duckdb":
        yield kind, str(tmp_path / "crm.duckdb")
    elif kind == "postgres":
        with postgres_database(f"hubspot_deals_wip_source_{os.getpid()}") as dsn:
            yield kind, dsn
    else:
        yield kind, (tmp_path / "files").as_uri()


def run_script(
    sandbox: SandboxServer, destination: tuple[str, str], tmp_path: Path, mode: str, **job: Any
) -> tuple[int, dict[str, Any]]:
    """Runs the standalone script; returns its exit code and its report (the last stdout line;
    `{"error": <stderr's last line>}` when it printed none)."""
    job = {
        "destination": list(destination),
        "pipeline": "standalone",
        "pipelines_dir": str(tmp_path / "pipelines"),
        "mode": mode,
        "token": sandbox.token_for_tests,  # type: ignore[attr-defined]
        "base_url": sandbox.base_url,
        "properties": PROPERTIES,
        "scan_id": "scan-standalone",
        "chunk_records": 1000,
        **job,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION"))}
    done = subprocess.run(
        [sys.executable, "-m", "hubspot_deals_tests.source.standalone_scan", json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        return done.returncode, {"error": done.stderr.strip().splitlines()[-1]}
    return done.returncode, json.loads(lines[-1])


def deal_rows(destination: tuple[str, str]) -> list[dict[str, Any]]:
    """The deals table as the destination holds it, in id order."""
    kind, target = destination
    if kind == "filesystem":
        import pyarrow.dataset as ds

        folder = Path(target.removeprefix("file://")) / DATASET / "deals"
        rows = ds.dataset(folder, format="parquet").to_table().to_pylist()
    elif kind == "duckdb":
        import duckdb

        with duckdb.connect(target, read_only=True) as con:
            cur = con.execute(f"SELECT * FROM {DATASET}.deals")
            names = [c[0] for c in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    else:
        import psycopg2

        with psycopg2.connect(target) as con, con.cursor() as cur:
            cur.execute(f"SELECT * FROM {DATASET}.deals")
            names = [c[0] for c in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return sorted(rows, key=lambda r: int(r["id"]))


def assert_exact(rows: list[dict[str, Any]], sandbox: SandboxServer, scan_id: str, org: str):
    """Every deal of the sandbox, live and archived, once, with its values typed."""
    account = sandbox.account()
    definitions = {d["name"]: d for d in account.property_definitions()}
    expected = sorted(account.deals(properties=READ), key=lambda d: int(d["id"]))
    assert len(rows) == len(expected) == DEALS
    assert sum(r["archived"] for r in rows) == account.archived_count == 150
    for row, deal in zip(rows, expected, strict=True):
        assert row["id"] == deal["id"]
        assert row["archived"] == deal["archived"]
        assert row["created_at"] == datetime.fromisoformat(deal["createdAt"])
        assert (row["_scan_id"], row["_organization_id"]) == (scan_id, org)
        for name in READ:
            raw = deal["properties"][name]
            assert row[name] == typed(definitions[name], raw), (row["id"], name)
    assert set(rows[0]) - set(READ) == {
        "id", "created_at", "updated_at", "archived", "archived_at", "_unparsed",
        "_scan_id", "_organization_id", "_scan_chunk",
    }  # fmt: skip


def served(sandbox: SandboxServer) -> int:
    return requests.get(sandbox.url("/__sandbox/stats"), timeout=10).json()["dealsServed"]


def test_importing_the_source_loads_neither_dagster_nor_fastapi() -> None:
    code = (
        "import sys, hubspot_deals.source as s; s.hubspot_crm, s.run_scan, s.ScanHooks; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'fastapi'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("destination", DESTINATIONS, indirect=True)
def test_the_source_in_a_dlt_pipeline_loads_every_deal(
    sandbox: SandboxServer, destination: tuple[str, str], tmp_path: Path
) -> None:
    code, report = run_script(sandbox, destination, tmp_path, "source")
    assert code == 0
    assert report["row_counts"]["deals"] == DEALS
    assert report["row_counts"]["deal_properties"] == len(sandbox.account().property_definitions())
    assert_exact(deal_rows(destination), sandbox, "default", "default")


@pytest.mark.parametrize("destination", DESTINATIONS, indirect=True)
def test_run_scan_resumes_after_a_crash_and_reads_nothing_twice(
    sandbox: SandboxServer, destination: tuple[str, str], tmp_path: Path
) -> None:
    code, crashed = run_script(sandbox, destination, tmp_path, "crash")
    assert code == 3
    committed = crashed["committed"]
    assert 1000 <= committed < DEALS
    # Whole chunks only: what was loaded is exactly what the checkpoint says.
    assert len(deal_rows(destination)) == committed
    requests.post(sandbox.url("/__sandbox/stats/reset"), timeout=10)
    code, resumed = run_script(sandbox, destination, tmp_path, "scan")
    assert code == 0
    assert resumed["blocked_loaded"] == []
    assert resumed["resumed_after"] == committed
    assert resumed["extracted"] == DEALS
    assert resumed["rows_loaded"]["deals"] == DEALS - committed
    assert served(sandbox) == DEALS - committed
    assert_exact(deal_rows(destination), sandbox, "scan-standalone", "org-standalone")
    # A finished scan run again is a fresh pass that replaces its rows; files cannot be
    # deleted from, and the scan says so.
    code, again = run_script(sandbox, destination, tmp_path, "scan")
    if destination[0] == "filesystem":
        assert code == 1
        assert again["error"].startswith("hubspot_deals.load.scan_rows.RowsNotDeletableError: ")
        assert "filesystem destination cannot do" in again["error"]
        assert len(deal_rows(destination)) == DEALS
        return
    assert code == 0 and again["resumed_after"] == 0
    assert_exact(deal_rows(destination), sandbox, "scan-standalone", "org-standalone")
