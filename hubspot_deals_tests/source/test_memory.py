"""The scan process's memory settings: DuckDB's limit by table width, and the lean allocators."""

import json
import os
import subprocess
import sys

import pytest

from hubspot_deals.settings import Settings
from hubspot_deals_tests.servers import REPO


def test_duckdb_memory_limit_grows_with_the_deals_table_width() -> None:
    auto = Settings(duckdb_memory_limit="auto")
    assert auto.duckdb_memory() == "64MB"  # until the scan knows its width: 80 columns
    assert auto.duckdb_memory(40) == "64MB"  # never below that
    assert auto.duckdb_memory(409) == "245MB"  # 398 properties: failed at 187 MB, loaded at 200
    assert auto.duckdb_memory(428) == "255MB"
    assert Settings(duckdb_memory_limit="1GB").duckdb_memory(428) == "1GB"  # a set value stands


# A process that imports the definitions, then runs one scan the way a run worker does.
SCAN_PROBE = """
import json, os, sys
import pyarrow as pa
from dagster import DagsterInstance
from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.source.standin import StandIn

imported = [pa.default_memory_pool().backend_name, os.environ.get("MALLOC_ARENA_MAX")]
token = fake_token()
with StandIn(token, deals=30) as standin, DagsterInstance.ephemeral() as instance:
    os.environ["HUBSPOT_API_BASE_URL"] = standin.base_url
    get_settings.cache_clear()
    outcome = execute_scan(instance, "lean", scan_run_config("org", token))
ran = [pa.default_memory_pool().backend_name, os.environ["ARROW_DEFAULT_MEMORY_POOL"],
       os.environ["MALLOC_ARENA_MAX"]]
print(json.dumps({"imported": imported, "scan": outcome.error or "ok", "ran": ran}))
"""


@pytest.mark.slow  # two processes each running a scan: the fast lane keeps the limit test
def test_a_scan_returns_freed_memory_to_the_system_where_it_runs(tmp_path) -> None:
    """Importing the definitions leaves the process as it was (a host project's process keeps
    its allocators); the scan's own process is made lean when the scan runs, and run workers
    started with these settings (the project's `dagster dev` and code server) and the deal
    reader have them from their first allocation. A process's own choice stands."""
    lean = ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")
    env = {k: v for k, v in os.environ.items() if k not in lean}
    env.update(HUBSPOT_DEALS_HOME=str(tmp_path / "home"), HUBSPOT_DEALS_DESTINATION="duckdb")
    done = subprocess.run(
        [sys.executable, "-c", SCAN_PROBE], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "imported": ["mimalloc", None],
        "scan": "ok",
        "ran": ["system", "system", "2"],
    }
    mine = dict(env, ARROW_DEFAULT_MEMORY_POOL="jemalloc", MALLOC_ARENA_MAX="8")
    kept = subprocess.run(
        [sys.executable, "-c", SCAN_PROBE], env=mine, cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout.strip().splitlines()[-1]) == {
        "imported": ["jemalloc", "8"],
        "scan": "ok",
        "ran": ["jemalloc", "jemalloc", "8"],
    }


def test_the_projects_dagster_dev_starts_its_processes_lean(tmp_path) -> None:
    from hubspot_deals.stack import dagster_dev

    child = dagster_dev(3000, {"PATH": os.environ["PATH"]}, tmp_path / "dagster.log")
    assert {k: child.env[k] for k in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")} == {
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        "MALLOC_ARENA_MAX": "2",
    }
    mine = dagster_dev(3000, {"MALLOC_ARENA_MAX": "8"}, tmp_path / "dagster.log")
    assert mine.env["MALLOC_ARENA_MAX"] == "8"
