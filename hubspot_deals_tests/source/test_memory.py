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


@pytest.mark.slow  # two processes importing the code location: the fast lane keeps the limit
def test_code_location_processes_return_freed_memory_to_the_system() -> None:
    probe = (
        "import json, os, hubspot_deals.defs.definitions, pyarrow as pa; "
        "print(json.dumps([pa.default_memory_pool().backend_name, "
        "os.environ['ARROW_DEFAULT_MEMORY_POOL'], os.environ['MALLOC_ARENA_MAX']]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL",
                                                            "MALLOC_ARENA_MAX")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Run workers and the deal reader inherit the settings from their first allocation.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["system", "system", "2"]
    mine = dict(env, ARROW_DEFAULT_MEMORY_POOL="jemalloc", MALLOC_ARENA_MAX="8")
    kept = subprocess.run(
        [sys.executable, "-c", probe], env=mine, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert json.loads(kept.stdout.strip().splitlines()[-1]) == ["jemalloc", "jemalloc", "8"]
