"""Property-based: schemathesis generates valid and invalid requests for every operation of the
served OpenAPI document; no answer may be a 500, and every answer must match the document.

Dagster runs for real, with its run queue stopped (`max_concurrent_runs: 0`), so the scans the
fuzzer starts stay pending instead of spawning run workers. schemathesis runs as its CLI
(`schemathesis run`): its pytest plugin's lazy loader does not work with pytest 9.
"""

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.servers import BIN, DagsterDev

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
QUEUE_STOPPED = "concurrency:\n  runs:\n    max_concurrent_runs: 0\n"
CHECKS = os.environ.get("SHIM_FUZZ_CHECKS", "all")
EXCLUDED = os.environ.get("SHIM_FUZZ_EXCLUDE", "")


@pytest.fixture(scope="module")
def fuzzed_shim(module_dir: Path, clean_env: None) -> Iterator[Shim]:
    home = home_env(module_dir, QUEUE_STOPPED)
    # OAuth configured, so that its routes are fuzzed past "not configured" (the spec's 500).
    home["HUBSPOT_DEALS_OAUTH_CLIENT_ID"] = "fuzz-client"
    home["HUBSPOT_DEALS_OAUTH_CLIENT_SECRET"] = secrets.token_hex(16)
    with (
        DagsterDev(home, module_dir) as dagster,
        Shim(shim_env(dagster, home, open_access="true"), module_dir) as shim,
    ):
        yield shim


def test_no_request_gets_a_500_and_answers_match_the_document(
    fuzzed_shim: Shim, module_dir: Path
) -> None:
    args = [
        str(BIN / "schemathesis"), "--config-file", str(CONFIG),
        "run", fuzzed_shim.api + "/openapi.json",
        "--checks", CHECKS, "--max-examples", os.environ.get("SHIM_FUZZ_EXAMPLES", "30"),
        "--phases", "examples,coverage,fuzzing", "--seed", "20260101",
        "--generation-database", "none", "--request-timeout", "30", "--no-color",
        "--output-sanitize", "false",
        "--report", "junit", "--report-dir", str(module_dir / "schemathesis"),
    ]  # fmt: skip
    if EXCLUDED:
        args += ["--exclude-checks", EXCLUDED]
    # From the module's folder: schemathesis keeps a `.schemathesis` cache in its working dir.
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=module_dir)
    output = result.stdout + result.stderr
    (module_dir / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, output[-8000:]
    assert "500 Internal Server Error" not in output
