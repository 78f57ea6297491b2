"""End to end on DuckDB: the HubSpot stand-in, `dagster dev` and the shim under uvicorn, driven
over HTTP like a client. Runs are queued one at a time (DuckDB has a single writer)."""

import contextlib
import io
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from hubspot_deals.load.names import pipeline_name_for
from hubspot_deals.settings import DATASET_NAME
from hubspot_deals_tests.api_shim.conftest import (
    REPO,
    Shim,
    SlowTokenStandIn,
    home_env,
    shim_env,
)
from hubspot_deals_tests.api_shim.expected import (
    as_received,
    assert_known_tables,
    created,
    expected_record,
)
from hubspot_deals_tests.api_shim.spec_examples import (
    COMPLETE_WORKFLOW_EXAMPLE,
    SPEC_BASE_URL,
    SPEC_TOKEN,
)
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import DagsterDev

pytestmark = pytest.mark.slow

ONE_RUN_AT_A_TIME = "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
LOCK_TIMEOUT = 4


@dataclass
class Stack:
    standin: SlowTokenStandIn
    dagster: DagsterDev
    shim: Shim
    token: str
    slow_token: str
    home: Path
    folder: Path

    @property
    def duckdb_file(self) -> Path:
        return self.home / "hubspot_deals.duckdb"

    def scan_row_counts(self, scan_id: str) -> dict[str, int]:
        """Rows of the scan in each table, read from the destination directly (no scan runs)."""
        with duckdb.connect(str(self.duckdb_file), read_only=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM duckdb_columns() WHERE schema_name = ? "
                    "AND column_name = '_scan_id'",
                    [DATASET_NAME],
                ).fetchall()
            ]
            return {
                t: conn.execute(
                    f'SELECT count(*) FROM {DATASET_NAME}."{t}" WHERE _scan_id = ?', [scan_id]
                ).fetchone()[0]
                for t in tables
            }

    def partition_keys(self) -> list[str]:
        data = self.dagster.graphql(
            "query($s: PipelineSelector!) { pipelineOrError(params: $s) { ... on Pipeline { "
            "partitionKeysOrError { ... on PartitionKeys { partitionKeys } } } } }",
            {"s": {**REPO, "pipelineName": "scan_job"}},
        )
        return data["pipelineOrError"]["partitionKeysOrError"]["partitionKeys"]

    def wait_idle(self, timeout: float = 120) -> None:
        """Until no run is queued or running (before touching the DuckDB file directly)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.dagster.graphql(
                "{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED, "
                "CANCELING]}) { ... on Runs { count } } }"
            )
            if data["runsOrError"]["count"] == 0:
                return
            time.sleep(0.5)
        raise AssertionError("runs still active")


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    token, slow_token = fake_token(), fake_token()
    home = home_env(module_dir, ONE_RUN_AT_A_TIME)
    with SlowTokenStandIn(token, slow_token, deals=400) as standin:
        dagster_env = {**home, "HUBSPOT_API_BASE_URL": standin.base_url}
        # For scans launched from the Dagster UI (no token in their config).
        dagster_env["HUBSPOT_ACCESS_TOKEN"] = token
        with DagsterDev(dagster_env, module_dir) as dagster:
            env = shim_env(
                dagster, home, open_access="true", duckdb_lock_timeout_seconds=str(LOCK_TIMEOUT)
            )
            with Shim(env, module_dir) as shim:
                shim.wait_healthy()
                yield Stack(
                    standin,
                    dagster,
                    shim,
                    token,
                    slow_token,
                    Path(home["HUBSPOT_DEALS_HOME"]),
                    module_dir,
                )


def run_spec_workflow(shim: Shim, token: str) -> dict[str, Any]:
    code = COMPLETE_WORKFLOW_EXAMPLE.replace(SPEC_BASE_URL, shim.api).replace(SPEC_TOKEN, token)
    namespace: dict[str, Any] = {"__name__": "spec_workflow"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "spec_complete_workflow_example", "exec"), namespace)  # noqa: S102
    namespace["printed"] = output.getvalue()
    return namespace


def test_spec_complete_workflow_example_retrieves_every_deal(stack: Stack) -> None:
    result = run_spec_workflow(stack.shim, stack.token)
    expected = sorted(
        (d for d in stack.standin.live() if date(2024, 1, 1) <= created(d) <= date(2024, 12, 31)),
        key=lambda d: d["id"],
    )
    assert len(expected) == 109
    assert result["success"] is True, result["printed"]
    assert result["status_data"]["status"] == "completed"
    assert result["status_data"]["recordsExtracted"] == 109
    deals = result["deals"]
    assert [d["id"] for d in deals] == [d["id"] for d in expected]
    for got, deal in zip(deals, expected, strict=True):
        p = deal["properties"]
        assert got["dealname"] == p["dealname"]
        assert got["amount"] == (float(p["amount"]) if p["amount"] else None)
        assert got["dealstage"] == p["dealstage"]
        assert got["_organization_id"] == "org-12345"
    assert "Retrieved 109 deals" in result["printed"]
    # The spec's scan asked for three properties: the deals' columns are those, not the union
    # of every scan's columns in the shared table.
    page = stack.shim.get(
        "/results/hubspot-deals-scan-2025-001/result", params={"tableName": "deals", "limit": 1}
    ).json()["data"]
    assert page["columns"] == [
        "id", "hs_object_id", "createdate", "hs_lastmodifieddate", "dealname", "amount",
        "dealstage", "created_at", "updated_at", "archived", "archived_at", "_unparsed",
        "_scan_id", "_organization_id",
    ]  # fmt: skip
    status = result["status_data"]
    assert status["config"] == {
        "scanId": "hubspot-deals-scan-2025-001",
        "organizationId": "org-12345",
        "type": ["user"],
        "auth": None,
        "filters": {
            "properties": ["dealname", "amount", "dealstage"],
            "includeArchived": False,
            "dateRange": {"startDate": "2024-01-01", "endDate": "2024-12-31"},
        },
    }
    assert status["checkpointInfo"]["progress"] == 100.0
    assert status["errorMessage"] is None
    assert status["endTime"] >= status["startTime"]
    assert status["duration"] > 0


def test_full_scan_results_are_the_standin_deals_typed(stack: Stack) -> None:
    shim = stack.shim
    assert shim.start_scan("full-1", stack.token, "org-full", {"includeArchived": True}).json() == {
        "success": True,
        "message": "Scan initialization accepted and is now processing in the background.",
    }
    shim.wait_status("full-1", ("completed",))
    tables = shim.get("/results/full-1/tables").json()
    assert tables["success"] is True
    data = tables["data"]
    assert (data["scanId"], data["datasetName"]) == ("full-1", "hubspot_deals_extraction")
    assert_known_tables(data["tables"])
    assert data["totalTables"] == len(data["tables"])
    names = [t["name"] for t in data["tables"]]
    expected = [expected_record(d) for d in sorted(stack.standin.deals, key=lambda d: d["id"])]
    for limit in (500, 7):
        records = shim.all_records("full-1", "deals", limit=limit)
        assert [as_received(r, list(expected[0])) for r in records] == expected
    assert records[0]["renewal_date"] is None or len(records[0]["renewal_date"]) == 10
    page = shim.get(
        "/results/full-1/result", params={"tableName": "deals", "limit": 50, "offset": 380}
    ).json()["data"]
    assert page["pagination"] == {
        "total": 400,
        "limit": 50,
        "offset": 380,
        "hasMore": False,
        "returned": 20,
    }
    assert page["availableTables"] == names
    beyond = shim.get("/results/full-1/result", params={"tableName": "deals", "offset": 10**9})
    assert beyond.json()["data"]["records"] == []
    # tableName defaults to users, as documented.
    users = shim.get("/results/full-1/result").json()["data"]
    assert users["tableName"] == "users"
    assert [(u["id"], u["email"], u["teams"]) for u in users["records"]] == [
        ("77", "ann@example.com", [])
    ]
    properties = shim.all_records("full-1", "deal_properties")
    assert [p["name"] for p in properties] == sorted(p["name"] for p in properties)
    assert isinstance(properties[0]["definition"], dict)
    stages = shim.all_records("full-1", "pipeline_stages")
    assert [(s["pipeline_id"], s["id"], s["is_closed"]) for s in stages] == [
        ("default", "appointmentscheduled", False),
        ("default", "closedlost", True),
        ("default", "closedwon", True),
        ("default", "qualifiedtobuy", False),
    ]
    for table in ("_dlt_loads", "_dlt_pipeline_state", "deals; drop table deals", "DEALS"):
        response = shim.get("/results/full-1/result", params={"tableName": table})
        assert response.status_code == 400, response.text
        assert response.json()["validation_errors"]["tableName"] == [
            f"Table '{table}' is not one of this scan's tables ({', '.join(names)})"
        ]


def cancel_a_running_and_a_pending_scan(stack: Stack) -> None:
    shim = stack.shim
    assert shim.start_scan("slow-1", stack.slow_token, "org-slow").status_code == 202
    assert shim.start_scan("slow-2", stack.slow_token, "org-slow").status_code == 202
    queued = shim.get("/scan/slow-2/status").json()["data"]
    assert queued["status"] == "pending"  # one run at a time: slow-2 waits for slow-1
    assert queued["startTime"] is None and queued["duration"] is None
    deadline = time.monotonic() + 120
    while True:
        data = shim.get("/scan/slow-1/status").json()["data"]
        if data["status"] == "running" and data["recordsExtracted"] > 0:
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.3)
    assert data["checkpointInfo"]["latestCheckpoint"]["expectedRecords"] == 360
    assert data["checkpointInfo"]["progress"] == round(100 * data["recordsExtracted"] / 360, 1)
    assert 0 < data["checkpointInfo"]["progress"] <= 100
    assert data["lastHeartbeat"].endswith("Z")
    checkpoint_at = data["checkpointInfo"]["lastCheckpointAt"]
    assert checkpoint_at is None or checkpoint_at.endswith("Z")
    assert data["endTime"] is None and data["duration"] > 0
    assert data["errorMessage"] is None

    refused = shim.delete("/scan/slow-1/remove")
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Cannot remove scan 'slow-1' while it is running; cancel it first"
    )
    not_ready = shim.get("/results/slow-1/tables")
    assert not_ready.status_code == 400
    assert "is not completed (status: running)" in not_ready.json()["message"]

    for scan_id in ("slow-2", "slow-1"):
        cancelled = shim.post(f"/scan/{scan_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {
            "success": True,
            "message": "Scan cancelled successfully",
            "data": {"scanId": scan_id, "status": "cancelled"},
        }
    for scan_id in ("slow-1", "slow-2"):
        final = shim.wait_status(scan_id, ("cancelled",), timeout=60)
        assert final["metadata"]["dagsterRunStatus"] in ("CANCELING", "CANCELED")
        assert final["errorMessage"] is None


def test_status_is_live_and_cancel_stops_running_and_pending_scans(stack: Stack) -> None:
    shim = stack.shim
    # slow-1 reads 200 live deals, then waits: it cannot finish before the cancel lands.
    stack.standin.hold(200)
    try:
        cancel_a_running_and_a_pending_scan(stack)
        stack.wait_idle()
    finally:
        stack.standin.release()
    never_ran = shim.wait_status("slow-2", ("cancelled",))
    # Dagster reports a run cancelled in the queue as starting when it ended.
    assert never_ran["startTime"] == never_ran["endTime"] and never_ran["duration"] == 0
    again = shim.post("/scan/slow-1/cancel")
    assert again.status_code == 400
    assert again.json()["message"] == "Cannot cancel scan 'slow-1': it is already cancelled"
    removed = shim.delete("/scan/slow-1/remove")
    assert removed.status_code == 200, removed.text
    assert removed.json()["data"]["scanId"] == "slow-1"
    assert shim.get("/scan/slow-1/status").status_code == 404


def test_failed_scan_reports_a_readable_cause_and_never_the_token(stack: Stack) -> None:
    shim = stack.shim
    bad_token = "pat-na1-" + fake_token()
    assert shim.start_scan("bad-token-1", bad_token, "org-bad").status_code == 202
    data = shim.wait_status("bad-token-1", ("failed", "crashed"))
    assert data["status"] == "failed"
    assert data["errorMessage"].startswith(
        "HubSpot rejected the access token (401 INVALID_AUTHENTICATION)"
    )
    assert "Traceback" not in data["errorMessage"]
    assert data["metadata"]["errorCategory"] == "authentication_error"
    assert data["endTime"] is not None
    for response in (
        shim.get("/scan/bad-token-1/status"),
        shim.get("/scan/list"),
        shim.post("/scan/bad-token-1/cancel"),
        shim.get("/results/bad-token-1/tables"),
    ):
        assert bad_token not in response.text
        assert bad_token[8:] not in response.text
    assert shim.post("/scan/bad-token-1/cancel").json()["message"] == (
        "Cannot cancel scan 'bad-token-1': it is already failed"
    )
    assert bad_token not in shim.log()
    assert bad_token not in stack.dagster.process.log_path.read_text(errors="replace")


def test_conflicts_and_unknown_scans(stack: Stack) -> None:
    shim = stack.shim
    again = shim.start_scan("full-1", stack.token)
    assert again.status_code == 409
    message = (
        "A scan with ID 'full-1' already exists (completed): remove it and its data (DELETE "
        "/api/v1/scan/full-1/remove), or start a scan with another ID"
    )
    assert again.json() == {"success": False, "message": message, "error": message}
    failed = shim.start_scan("bad-token-1", stack.token)
    assert (failed.status_code, failed.json()["message"]) == (
        409,
        "A scan with ID 'bad-token-1' already exists (failed): resume it from its checkpoint "
        "(POST /api/v1/scan/bad-token-1/resume), remove it and its data (DELETE "
        "/api/v1/scan/bad-token-1/remove), or start a scan with another ID",
    )
    for method, path in [
        ("GET", "/scan/nope-1/status"),
        ("POST", "/scan/nope-1/cancel"),
        ("DELETE", "/scan/nope-1/remove"),
        ("GET", "/results/nope-1/tables"),
        ("GET", "/results/nope-1/result"),
    ]:
        response = shim.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {
            "success": False,
            "message": "No scan found with ID: nope-1",
            "error": "No scan found with ID: nope-1",
        }


def test_concurrent_starts_of_one_scan_id_launch_it_once(stack: Stack) -> None:
    results: list[int] = []

    body = {
        "config": {
            "scanId": "race-1",
            "organizationId": "org-race",
            "type": ["user"],
            "auth": {"accessToken": stack.token},
        }
    }

    def start() -> None:
        response = requests.post(stack.shim.api + "/scan/start", json=body, timeout=60)
        results.append(response.status_code)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [202, 409, 409, 409, 409, 409]
    assert stack.shim.get("/scan/race-1/status").json()["data"]["metadata"]["runCount"] == 1
    assert stack.shim.post("/scan/race-1/cancel").status_code == 200  # the run proves nothing


def test_failed_launch_leaves_no_partition_behind(stack: Stack) -> None:
    env = shim_env(
        stack.dagster,
        {"HUBSPOT_DEALS_HOME": str(stack.home)},
        open_access="true",
        job_name="no_job",
    )
    with Shim(env, stack.folder, name="shim-wrong-job") as broken:
        response = broken.start_scan("rollback-1", stack.token)
    assert response.status_code == 500
    assert response.json()["message"].startswith("Dagster could not launch the scan")
    assert "rollback-1" not in stack.partition_keys()
    assert stack.shim.get("/scan/rollback-1/status").status_code == 404
    assert stack.shim.start_scan("rollback-1", stack.token).status_code == 202
    assert "rollback-1" in stack.partition_keys()
    assert stack.shim.post("/scan/rollback-1/cancel").status_code == 200


def test_scan_started_from_the_dagster_ui_shows_up(stack: Stack) -> None:
    stack.dagster.graphql(
        "mutation($s: RepositorySelector!) { addDynamicPartition(repositorySelector: $s, "
        'partitionsDefName: "scans", partitionKey: "ui-scan-1") { __typename } }',
        {"s": REPO},
    )
    launched = stack.dagster.graphql(
        "mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename } }",
        {
            "p": {
                "selector": {**REPO, "jobName": "scan_job"},
                "runConfigData": {},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "ui-scan-1"}]},
            }
        },
    )
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess"
    data = stack.shim.wait_status("ui-scan-1", ("completed", "failed"))
    assert data["status"] == "completed", data
    assert data["organizationId"] == "default"
    assert data["type"] == "user"
    assert data["recordsExtracted"] == 360
    listed = stack.shim.get("/scan/list", params={"organizationId": "default"}).json()["data"]
    assert [s["scanId"] for s in listed["scans"]] == ["ui-scan-1"]


def test_list_paging_filter_and_stats(stack: Stack) -> None:
    shim = stack.shim
    for scan_id in ("list-a", "list-b", "list-c"):
        response = shim.start_scan(scan_id, stack.token, "org-list", {"properties": ["dealname"]})
        assert response.status_code == 202
        time.sleep(0.05)  # distinct creation times
    # One run at a time: list-b and list-c wait behind list-a; cancel them there.
    for scan_id in ("list-b", "list-c"):
        assert shim.post(f"/scan/{scan_id}/cancel").status_code == 200
    shim.wait_status("list-a", ("completed",))
    first = shim.get("/scan/list", params={"organizationId": "org-list", "limit": 2}).json()
    assert [s["scanId"] for s in first["data"]["scans"]] == ["list-c", "list-b"]
    assert first["data"]["pagination"] == {
        "total": 3,
        "limit": 2,
        "offset": 0,
        "hasMore": True,
        "returned": 2,
    }
    item = first["data"]["scans"][0]
    assert set(item) == {
        "scanId", "organizationId", "status", "startTime", "endTime", "recordsExtracted",
    }  # fmt: skip
    assert (item["organizationId"], item["status"], item["recordsExtracted"]) == (
        "org-list",
        "cancelled",
        0,
    )
    second = shim.get(
        "/scan/list", params={"organizationId": "org-list", "limit": 2, "offset": 2}
    ).json()
    assert [(s["scanId"], s["status"], s["recordsExtracted"]) for s in second["data"]["scans"]] == [
        ("list-a", "completed", 360)
    ]
    assert second["data"]["pagination"]["hasMore"] is False
    assert second["data"]["pagination"]["returned"] == 1
    empty = shim.get("/scan/list", params={"organizationId": "org-none"}).json()["data"]
    assert empty == {
        "scans": [],
        "pagination": {"total": 0, "limit": 20, "offset": 0, "hasMore": False, "returned": 0},
    }

    stats = shim.get("/stats", params={"organizationId": "org-list"}).json()
    assert stats["success"] is True
    data = stats["data"]
    assert data["total_jobs"] == 3
    assert data["status_breakdown"] == {
        "pending": 0, "running": 0, "completed": 1, "failed": 0, "cancelled": 2, "crashed": 0,
        "resuming": 0, "paused": 0,
    }  # fmt: skip
    assert data["recent_jobs_7_days"] == 3
    assert data["total_records_extracted"] == 360
    assert data["organization_filter"] == "org-list"
    everything = shim.get("/stats").json()["data"]
    listed = shim.get("/scan/list", params={"limit": 100}).json()["data"]
    assert everything["total_jobs"] == listed["pagination"]["total"]
    assert everything["organization_filter"] is None
    assert everything["status_breakdown"]["failed"] >= 1  # bad-token-1
    assert sum(everything["status_breakdown"].values()) == everything["total_jobs"]


def test_remove_deletes_rows_runs_and_partition(stack: Stack) -> None:
    shim = stack.shim
    tables = shim.get("/results/full-1/tables").json()["data"]["tables"]
    stack.wait_idle()
    assert stack.scan_row_counts("full-1")["deals"] == 400
    pipeline_dir = stack.home / "dlt_pipelines" / pipeline_name_for("full-1")
    assert pipeline_dir.is_dir()
    removed = shim.delete("/scan/full-1/remove")
    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "success": True,
        "message": "Scan removed successfully",
        "data": {"scanId": "full-1", "recordsDeleted": sum(t["rowCount"] for t in tables)},
    }
    assert removed.json()["data"]["recordsDeleted"] >= 418  # 5 tables; the location may add more
    counts = stack.scan_row_counts("full-1")
    assert {t["name"]: counts[t["name"]] for t in tables} == {t["name"]: 0 for t in tables}
    assert not pipeline_dir.exists()
    assert "full-1" not in stack.partition_keys()
    assert shim.get("/scan/full-1/status").status_code == 404
    assert shim.get("/results/full-1/tables").status_code == 404
    assert shim.delete("/scan/full-1/remove").status_code == 404
    # The id is free again.
    assert shim.start_scan("full-1", stack.token, "org-full").status_code == 202
    assert shim.post("/scan/full-1/cancel").status_code == 200


def backdate(dagster_home: Path, run_id: str, days: int) -> None:
    """Moves a run `days` into the past in Dagster's SQLite run storage."""
    seconds = days * 86400
    with contextlib.closing(sqlite3.connect(dagster_home / "history" / "runs.db")) as db:
        db.execute(
            "UPDATE runs SET start_time = start_time - ?, end_time = end_time - ?, "
            "create_timestamp = datetime(create_timestamp, ?), "
            "update_timestamp = datetime(update_timestamp, ?) WHERE run_id = ?",
            (seconds, seconds, f"-{days} days", f"-{days} days", run_id),
        )
        db.commit()


def test_cleanup_removes_finished_scans_older_than_days_old(stack: Stack) -> None:
    shim = stack.shim
    tables = shim.get("/results/list-a/tables").json()["data"]["tables"]
    status = shim.get("/scan/list-a/status").json()["data"]
    backdate(stack.home / "dagster_home", status["metadata"]["dagsterRunId"], 10)
    # A change made behind the API's back shows within HUBSPOT_DEALS_API_DAGSTER_RUNS_CACHE_SECONDS.
    time.sleep(2.1)
    ended = shim.get("/scan/list-a/status").json()["data"]["endTime"]
    assert 9.9 * 86400 < time.time() - datetime.fromisoformat(ended).timestamp() < 10.1 * 86400
    kept = shim.post("/maintenance/cleanup", json={"daysOld": 30}).json()
    assert kept["data"] == {"cleanedCount": 0, "daysOld": 30, "cleanedScanIds": []}
    cleaned = shim.post("/maintenance/cleanup", json={"daysOld": 7})
    assert cleaned.status_code == 200, cleaned.text
    assert cleaned.json() == {
        "success": True,
        "message": "Successfully cleaned up 1 old scan results",
        "data": {"cleanedCount": 1, "daysOld": 7, "cleanedScanIds": ["list-a"]},
    }
    assert shim.get("/scan/list-a/status").status_code == 404
    assert shim.get("/scan/list-b/status").status_code == 200
    stack.wait_idle()
    counts = stack.scan_row_counts("list-a")
    assert {t["name"]: counts[t["name"]] for t in tables} == {t["name"]: 0 for t in tables}
    assert stack.scan_row_counts("hubspot-deals-scan-2025-001")["deals"] == 109
    default = shim.post("/maintenance/cleanup")
    assert default.json()["data"] == {"cleanedCount": 0, "daysOld": 7, "cleanedScanIds": []}


def test_results_stay_readable_while_another_scan_loads(stack: Stack) -> None:
    """Pages of completed scans come from their read copies: the loading scan's DuckDB lock
    never blocks them, and they never block the loading scan."""
    shim = stack.shim
    completed = "hubspot-deals-scan-2025-001"
    assert shim.get(f"/results/{completed}/tables").status_code == 200  # copy made
    assert shim.start_scan("loading-1", stack.slow_token, "org-load").status_code == 202
    statuses: list[int] = []
    latencies: list[float] = []
    while shim.get("/scan/loading-1/status").json()["data"]["status"] in ("pending", "running"):
        started = time.monotonic()
        response = shim.get(
            f"/results/{completed}/result", params={"tableName": "deals", "limit": 50, "offset": 50}
        )
        latencies.append(time.monotonic() - started)
        statuses.append(response.status_code)
    assert shim.get("/scan/loading-1/status").json()["data"]["status"] == "completed"
    assert len(statuses) > 20
    assert set(statuses) == {200}
    assert max(latencies) < 1.0


def test_first_read_waits_for_a_held_duckdb_lock_within_bounds(stack: Stack) -> None:
    shim = stack.shim
    stack.wait_idle()
    # ui-scan-1 has no read copy yet: its first read must open the destination.
    with duckdb.connect(str(stack.duckdb_file)) as writer:  # holds the lock, like a loading scan
        copied = shim.get(
            "/results/hubspot-deals-scan-2025-001/result", params={"tableName": "deals"}
        )
        assert copied.status_code == 200  # served from its copy, lock or not
        started = time.monotonic()
        busy = shim.get("/results/ui-scan-1/tables")
        waited = time.monotonic() - started
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "10"
        assert busy.json()["message"] == (
            "The DuckDB destination is locked by a loading scan; it could not be opened within "
            f"{LOCK_TIMEOUT}s. Retry shortly."
        )
        assert LOCK_TIMEOUT - 1 < waited < LOCK_TIMEOUT + 2
        release = threading.Timer(1.5, writer.close)
        release.start()
        started = time.monotonic()
        ready = shim.get("/results/ui-scan-1/tables")
        assert ready.status_code == 200, ready.text
        assert 1.0 < time.monotonic() - started < LOCK_TIMEOUT
        release.join()


def test_health_and_pipeline_info_when_everything_runs(stack: Stack) -> None:
    health = stack.shim.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "healthy"
    assert body["service"] == "hubspot_deals_extraction"
    assert body["pipeline"] == {
        "pipeline_name": "hubspot_deals_extraction",
        "database_health": True,
        "supports_checkpoints": True,
    }
    assert sorted(body["checks"]) == [
        "code_location", "dagster_daemon", "dagster_webserver", "destination",
    ]  # fmt: skip
    assert all(c["healthy"] for c in body["checks"].values())
    info = stack.shim.get("/pipeline/info").json()["data"]
    assert info["is_active"] is True
    assert info["database_health"] is True
    assert info["dagster_version"] == "1.13.27"
    assert info["error"] is None
    assert info["working_dir"] == str(stack.home / "dlt_pipelines")


def test_dagster_going_away_gives_503_not_a_hang(stack: Stack) -> None:
    env = shim_env(None, {"HUBSPOT_DEALS_HOME": str(stack.home)}, open_access="true")
    with Shim(env, stack.folder, name="shim-no-dagster") as orphan:
        for method, path in [
            ("GET", "/scan/ui-scan-1/status"),
            ("GET", "/scan/list"),
            ("GET", "/results/ui-scan-1/result"),
            ("POST", "/scan/ui-scan-1/cancel"),
            ("GET", "/stats"),
        ]:
            started = time.monotonic()
            response = orphan.request(method, path)
            assert response.status_code == 503, response.text
            assert time.monotonic() - started < 5
            assert response.json()["message"].startswith("Dagster is unreachable")


def test_requests_library_client_sees_rate_limit_headers(stack: Stack) -> None:
    response = requests.get(stack.shim.api + "/scan/list", timeout=10)
    assert response.headers["X-RateLimit-Limit"] == "100000"
    assert int(response.headers["X-RateLimit-Remaining"]) < 100000
