"""Pause and cancel whatever the run's Dagster status, end to end: the sandbox (6,000 deals),
`dagster dev` (one run at a time, DuckDB) and the shim, driven over HTTP.

Dagster's `terminateRun` refuses a STARTING run. To hold a run there for as long as a test needs,
the stack's code location is `held_start_location`: the project's definitions behind an import
that waits while a file exists. The code servers imported it at start-up; the worker of a run
launched while the test keeps the file waits in start-up, so the run is genuinely STARTING (its
worker loading the code location) until the test deletes the file, however busy the machine.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from hubspot_deals.marks import mark_description
from hubspot_deals.scan import DEALS_ASSET_PATH
from hubspot_deals.settings import DATASET_NAME
from hubspot_deals.stack import BIN
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import REPO, DagsterDev
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.slow

DEALS = 6_000
# Deals per checkpoint: a multiple of the reader's 2,000-deal batches, so that a read held
# half-way through the next chunk (`holdFromDeal`) still lets this one's checkpoint commit.
CHUNK = 2_000
ARCHIVED = {"includeArchived": True}  # every deal, live and archived: DEALS rows
ONE_RUN_AT_A_TIME = "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
WORKSPACE = """load_from:
  - python_module:
      module_name: hubspot_deals_tests.api_shim.held_start_location
      attribute: defs
      location_name: hubspot_deals
      working_directory: {repo}
"""
REPORT_OBSERVATION = """mutation($params: ReportRunlessAssetEventsParams!) {
  reportRunlessAssetEvents(eventParams: $params) { __typename } }"""


@dataclass
class Stack:
    sandbox: SandboxServer
    dagster: DagsterDev
    shim: Shim
    token: str
    home: Path
    hold_file: Path

    @contextmanager
    def runs_held_in_start_up(self) -> Iterator[None]:
        """Runs launched meanwhile stay STARTING until the block ends."""
        self.hold_file.touch()
        try:
            yield
        finally:
            self.hold_file.unlink(missing_ok=True)

    def run_status(self, scan_id: str, dagster_status: str) -> tuple[list[str], dict[str, Any]]:
        return self.shim.walk(
            scan_id, lambda d: d["metadata"]["dagsterRunStatus"] == dagster_status
        )

    def deal_count(self, scan_id: str) -> tuple[int, int]:
        """(rows, distinct ids) of the scan's deals in the DuckDB file (read with no run active;
        before any scan has loaded anything there is no file)."""
        database = self.home / "hubspot_deals.duckdb"
        if not database.exists():
            return 0, 0
        with duckdb.connect(str(database), read_only=True) as conn:
            exists = conn.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? "
                "AND table_name = 'deals'",
                [DATASET_NAME],
            ).fetchone()[0]
            if not exists:
                return 0, 0
            return conn.execute(
                f"SELECT count(*), count(DISTINCT id) FROM {DATASET_NAME}.deals WHERE _scan_id = ?",
                [scan_id],
            ).fetchone()

    def deals_served(self) -> int:
        return self.sandbox.stats()["dealsServed"]

    def hold_sandbox_from(self, deal: int | None) -> None:
        self.sandbox.admin("POST", "conditions", {"holdFromDeal": deal})

    def etl(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.shim.session.request(method, self.shim.url + path, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    token = fake_token()
    home = home_env(module_dir, ONE_RUN_AT_A_TIME)
    hold_file = module_dir / "hold-run-start"
    workspace = module_dir / "workspace.yaml"
    workspace.write_text(WORKSPACE.format(repo=REPO))
    dagster_env = {
        **home,
        "HUBSPOT_DEALS_CHECKPOINT_DEALS": str(CHUNK),
        "HUBSPOT_DEALS_CHECKPOINT_SECONDS": "3600",  # chunks by count only, however slow
        "HUBSPOT_DEALS_TEST_HOLD_RUN_START": str(hold_file),
    }
    with SandboxServer(deals=DEALS, seed=23, tokens=[token]) as sandbox:
        dagster_env["HUBSPOT_API_BASE_URL"] = sandbox.base_url
        with (
            DagsterDev(dagster_env, module_dir, workspace) as dagster,
            Shim(shim_env(dagster, home, open_access="true"), module_dir) as shim,
        ):
            shim.wait_healthy()
            # deals_current's rebuild after a completed scan would be held in start-up too and
            # take the one run slot from the scans under test.
            stopped = subprocess.run(
                [str(BIN / "dagster"), "sensor", "stop", "deals_current_on_scan_success",
                 "-w", str(workspace)],
                env={**os.environ, **dagster_env}, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            yield Stack(sandbox, dagster, shim, token, Path(home["HUBSPOT_DEALS_HOME"]), hold_file)


def start_held(stack: Stack, scan_id: str, organization: str) -> dict[str, Any]:
    """Starts a scan whose run stays STARTING (inside `runs_held_in_start_up`)."""
    response = stack.shim.start_scan(scan_id, stack.token, organization, ARCHIVED)
    assert response.status_code == 202, response.text
    seen, data = stack.run_status(scan_id, "STARTING")
    assert data["status"] == "running", seen
    return data


def checkpointed(data: dict[str, Any]) -> int:
    """Deals of the scan's published checkpoint (0 before its first)."""
    checkpoint = data["checkpointInfo"]["latestCheckpoint"] or {}
    return int(checkpoint.get("dealsExtracted") or 0)


def test_cancel_while_the_run_is_starting(stack: Stack) -> None:
    shim = stack.shim
    stack.sandbox.reset_stats()
    with stack.runs_held_in_start_up():
        start_held(stack, "starting-cancel", "org-cancel")
        cancelled = shim.post("/scan/starting-cancel/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {
            "success": True,
            "message": "Scan cancelled successfully",
            "data": {"scanId": "starting-cancel", "status": "cancelled"},
        }
        # Accepted while Dagster could not terminate the run: the status says so at once.
        held = stack.shim.status("starting-cancel")
        assert (held["status"], held["metadata"]["dagsterRunStatus"]) == ("cancelled", "STARTING")
        again = shim.post("/scan/starting-cancel/cancel")
        assert again.status_code == 400
        assert again.json()["message"] == (
            "Cannot cancel scan 'starting-cancel': it is already cancelled"
        )
    # Released, the run starts, reads the request and stops before reading a deal.
    seen, final = stack.run_status("starting-cancel", "CANCELED")
    assert seen == ["cancelled"]
    assert final["status"] == "cancelled" and final["errorMessage"] is None
    assert stack.deals_served() == 0
    assert stack.deal_count("starting-cancel") == (0, 0)
    assert shim.post("/scan/starting-cancel/resume").json()["message"] == (
        "Cannot resume scan 'starting-cancel': it is cancelled; only a paused, failed or "
        "crashed scan can be resumed"
    )


def test_pause_while_the_run_is_starting_then_resume(stack: Stack) -> None:
    shim = stack.shim
    stack.sandbox.reset_stats()
    with stack.runs_held_in_start_up():
        start_held(stack, "starting-pause", "org-pause")
        paused = shim.post("/scan/starting-pause/pause")
        assert paused.status_code == 200, paused.text
        assert paused.json() == {
            "success": True,
            "message": "Scan paused successfully",
            "data": {"scanId": "starting-pause", "status": "paused"},
        }
        held = stack.shim.status("starting-pause")
        assert (held["status"], held["metadata"]["dagsterRunStatus"]) == ("paused", "STARTING")
    seen, _ = stack.run_status("starting-pause", "CANCELED")
    assert seen == ["paused"]
    assert stack.deals_served() == 0 and stack.deal_count("starting-pause") == (0, 0)

    resumed = shim.post("/scan/starting-pause/resume")
    assert resumed.status_code == 200, resumed.text
    seen, done = stack.shim.walk("starting-pause", lambda d: d["status"] == "completed")
    assert done["metadata"]["dagsterRunStatus"] == "SUCCESS" and done["recordsExtracted"] == DEALS
    assert stack.deal_count("starting-pause") == (DEALS, DEALS)
    assert stack.deals_served() == DEALS + 1  # every deal once, and the total-count search's


def test_a_recorded_stop_request_holds_at_checkpoints_and_while_starting(stack: Stack) -> None:
    """A pause the shim recorded but could not deliver (it died before terminating the run)
    stops the run at its next checkpoint; a resume run paused while starting keeps that
    checkpoint; the last resume completes the scan exactly."""
    shim = stack.shim
    scan_id = "recorded-pause"
    stack.hold_sandbox_from(CHUNK + CHUNK // 2)  # one checkpoint, then the reads wait
    try:
        assert shim.start_scan(scan_id, stack.token, "org-recorded", ARCHIVED).status_code == 202
        _, running = stack.shim.walk(scan_id, lambda d: checkpointed(d) == CHUNK)
        assert running["status"] == "running"
        run_id = running["metadata"]["dagsterRunId"]
        # What pause records before it asks Dagster to terminate the run; the shim stops here.
        description = mark_description("paused", run_id, "recorded by a shim that then died")
        params = {
            "eventType": "ASSET_OBSERVATION",
            "assetKey": {"path": list(DEALS_ASSET_PATH)},
            "partitionKeys": [scan_id],
            "description": description,
        }
        reported = stack.dagster.graphql(REPORT_OBSERVATION, {"params": params})
        assert reported["reportRunlessAssetEvents"]["__typename"] == (
            "ReportRunlessAssetEventsSuccess"
        )
    finally:
        stack.hold_sandbox_from(None)
    seen, stopped = stack.run_status(scan_id, "CANCELED")
    assert seen[-1] == "paused" and stopped["status"] == "paused", seen
    # Stopped at the next checkpoint: a chunk closes on the reader's batch after CHUNK more
    # deals, whose size depends on how long the held read waited; the rows are that checkpoint's.
    stopped_at = checkpointed(stopped)
    assert 2 * CHUNK <= stopped_at < DEALS, stopped
    assert stack.deal_count(scan_id) == (stopped_at, stopped_at)

    with stack.runs_held_in_start_up():
        assert shim.post(f"/scan/{scan_id}/resume").status_code == 200
        stack.run_status(scan_id, "STARTING")
        paused = shim.post(f"/scan/{scan_id}/pause")
        assert paused.status_code == 200, paused.text
        assert stack.shim.status(scan_id)["status"] == "paused"
    seen, _ = stack.run_status(scan_id, "CANCELED")
    assert seen == ["paused"]
    assert stack.deal_count(scan_id) == (stopped_at, stopped_at)

    assert shim.post(f"/scan/{scan_id}/resume").status_code == 200
    _, done = stack.shim.walk(scan_id, lambda d: d["status"] == "completed")
    assert done["recordsExtracted"] == DEALS
    assert stack.deal_count(scan_id) == (DEALS, DEALS)


def test_etl_cancel_while_the_run_is_starting(stack: Stack) -> None:
    stack.sandbox.reset_stats()
    with stack.runs_held_in_start_up():
        body = {
            "tenant_id": "org-etl",
            "scan_type": "full",
            "config": {"hubspot_access_token": stack.token},
        }
        started = stack.etl("POST", "/api/v1/scans/start", json=body)
        assert started.status_code == 202, started.text
        scan_id = started.json()["scan_id"]
        stack.run_status(scan_id, "STARTING")
        cancelled = stack.etl("POST", f"/api/v1/scans/{scan_id}/cancel", json={"reason": "test"})
        assert cancelled.status_code == 200, cancelled.text
        answer = cancelled.json()
        assert (answer["previous_status"], answer["current_status"]) == ("running", "cancelled")
        status = stack.etl("GET", f"/api/v1/scans/{scan_id}").json()
        assert (status["status"], status["status_detail"]) == ("cancelled", "cancelled")
        assert "cancel" not in status["links"]
    seen, _ = stack.run_status(scan_id, "CANCELED")
    assert seen == ["cancelled"]
    status = stack.etl("GET", f"/api/v1/scans/{scan_id}").json()
    assert (status["status"], status["status_detail"]) == ("cancelled", "cancelled")
    again = stack.etl("POST", f"/api/v1/scans/{scan_id}/cancel")
    assert again.status_code == 409
    assert stack.deals_served() == 0 and stack.deal_count(scan_id) == (0, 0)
