"""The quick start's first command, end to end: sandbox, Dagster, REST API and one scan."""

import os
import subprocess

import pytest

from hubspot_deals.stack import BIN, REPO, free_port


@pytest.mark.slow
def test_demo_scans_the_sandbox_through_the_rest_api(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DAGSTER_"))}
    proc = subprocess.run(
        [
            str(BIN / "hubspot-deals"),
            "demo",
            "--no-serve",
            "--deals",
            "2000",
            "--seed",
            "3",
            "--home",
            str(tmp_path / "home"),
            "--dagster-port",
            str(free_port()),
            "--api-port",
            str(free_port()),
            "--scan-id",
            "quickstart",
        ],  # fmt: skip
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Scan 'quickstart' started through POST http://127.0.0.1:" in out
    assert "  completed  100.0%      2,000 deals extracted" in out
    assert "  deals                2000 rows" in out
    assert "  pipelines               3 rows" in out
    assert "Deals loaded 2000 equal to the sandbox's 2000 (1900 live + 100 archived, seed 3)" in out
    assert "Dagster UI     http://127.0.0.1:" in out
