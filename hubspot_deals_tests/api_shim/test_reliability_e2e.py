"""Reliability end to end, the production way: Dagster on PostgreSQL (the production
dagster.yaml: queued runs, one scan per organization at a time), webserver and daemon as separate
processes, the shim under uvicorn, deals loaded into PostgreSQL from a 20,000-deal sandbox.

Pause and resume, a SIGKILLed run worker found by detect-crashed and resumed, 5xx faults under a
tight rate limit, a token revoked mid-scan, restarts of the shim and the webserver mid-scan, and
two organizations side by side while a second scan of one of them waits its turn.
"""

import os
import shutil
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests

from hubspot_deals.settings import DATASET_NAME
from hubspot_deals.stack import BIN, ChildProcess
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.conftest import fake_token, postgres_database
from hubspot_deals_tests.servers import REPO, free_port, kill_stack
from hubspot_sandbox.process import SandboxServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEALS = 20_000
# Deals per checkpoint, at least: a chunk closes on the first reader batch that reaches it, and
# the reader ships a batch after 2,000 deals or a second of reading, so on a busy machine chunks
# are of other sizes. Tests assert chunk boundaries read from the table, never multiples of this.
CHUNK = 2_000
ARCHIVED = {"includeArchived": True}  # every deal, live and archived


class Dagster:
    """`dagster-webserver` and `dagster-daemon` as separate processes, as in production."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = env["HUBSPOT_DEALS_HOME"]
        workspace = ["-w", str(REPO / "workspace.yaml")]
        self.webserver = ChildProcess(
            [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(self.port)],
            env,
            log_dir / "webserver.log",
        )
        self.daemon = ChildProcess(
            [str(BIN / "dagster-daemon"), "run", *workspace], env, log_dir / "daemon.log"
        )

    def start_webserver(self) -> None:
        self.webserver.start()
        self.webserver.wait_http(self.url + "/server_info", timeout=180)

    def __enter__(self) -> "Dagster":
        self.daemon.start()
        try:
            self.start_webserver()
        except BaseException:
            self.daemon.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        kill_stack(self.webserver, None)
        kill_stack(self.daemon, self.home)


@dataclass
class Stack:
    sandbox: SandboxServer
    dagster: Dagster
    shim: Shim
    env: dict[str, str]
    log_dir: Path
    dagster_dsn: str
    destination_dsn: str
    tokens: list[str]

    def query(self, sql: str, params: tuple = (), dsn: str | None = None) -> list[tuple]:
        conn = psycopg2.connect(dsn or self.destination_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def deal_rows(self, scan_id: str) -> list[tuple]:
        """The scan's deals, every HubSpot column (not the per-scan bookkeeping), by id."""
        columns = [
            name
            for (name,) in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'deals' AND column_name NOT LIKE '\\_%%' ORDER BY column_name",
                (DATASET_NAME,),
            )
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        return self.query(
            f"SELECT {select} FROM {DATASET_NAME}.deals WHERE _scan_id = %s ORDER BY id",
            (scan_id,),
        )

    def deal_count(self, scan_id: str) -> tuple[int, int]:
        """(rows, distinct ids) of the scan's deals."""
        return self.query(
            f"SELECT count(*), count(DISTINCT id) FROM {DATASET_NAME}.deals WHERE _scan_id = %s",
            (scan_id,),
        )[0]

    def finish(self, scan_id: str, timeout: float = 240.0) -> tuple[list[str], dict[str, Any]]:
        return self.shim.walk(
            scan_id, lambda d: d["status"] in ("completed", "failed", "cancelled"), timeout
        )

    def served(self) -> dict[str, Any]:
        return self.sandbox.admin("GET", "stats")

    def deals_metadata(self, run_id: str) -> dict[str, Any]:
        """The deals materialization's metadata of a run (integers only)."""
        query = """query($runId: ID!) { runOrError(runId: $runId) { ... on Run {
            assetMaterializations { assetKey { path }
              metadataEntries { label ... on IntMetadataEntry { intRepr } } } } } }"""
        response = requests.post(
            self.dagster.url + "/graphql",
            json={"query": query, "variables": {"runId": run_id}},
            timeout=60,
        )
        for event in response.json()["data"]["runOrError"]["assetMaterializations"]:
            if event["assetKey"]["path"] == ["hubspot", "deals"]:
                return {
                    e["label"]: int(e["intRepr"])
                    for e in event["metadataEntries"]
                    if e.get("intRepr") is not None
                }
        raise AssertionError(f"run {run_id} materialized no deals")


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    pid = os.getpid()
    tokens = [fake_token() for _ in range(8)]
    with (
        postgres_database(f"reliability_dagster_{pid}") as dagster_dsn,
        postgres_database(f"reliability_deals_{pid}") as destination_dsn,
        SandboxServer(deals=DEALS, seed=41, tokens=tokens) as sandbox,
    ):
        home = {
            **home_env(module_dir),
            "HUBSPOT_DEALS_DESTINATION": "postgres",
            "HUBSPOT_DEALS_POSTGRES_DSN": destination_dsn,
        }
        dagster_home = Path(home["DAGSTER_HOME"])
        shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
        env = {
            **os.environ,
            **home,
            "DAGSTER_PG_URL": dagster_dsn.replace("postgresql://", "postgresql+psycopg2://"),
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_DEALS_CHECKPOINT_DEALS": str(CHUNK),
            "HUBSPOT_DEALS_CHECKPOINT_SECONDS": "3600",  # chunks by count only, however slow
        }
        with (
            Dagster(env, module_dir) as dagster,
            Shim(shim_env(dagster, home, open_access="true"), module_dir) as shim,
        ):
            yield Stack(
                sandbox, dagster, shim, env, module_dir, dagster_dsn, destination_dsn, tokens
            )


@dataclass
class Reference:
    rows: list[tuple]
    requests: int


@pytest.fixture(scope="module")
def reference(stack: Stack) -> Reference:
    """An uninterrupted scan: the rows and HubSpot requests every other scan is held to."""
    stack.sandbox.reset_stats()
    assert stack.shim.start_scan("ref", stack.tokens[0], "org-ref", ARCHIVED).ok
    _, data = stack.finish("ref")
    assert data["status"] == "completed", data
    served = stack.served()
    assert served["dealsServed"] == DEALS + 1  # and the one deal of the total-count search
    rows = stack.deal_rows("ref")
    assert len(rows) == DEALS and stack.deal_count("ref") == (DEALS, DEALS)
    return Reference(rows, served["requestsTotal"])


def descendants(pid: int) -> dict[int, bytes]:
    """Every process below `pid`, with its command line."""
    children: dict[int, list[int]] = {}
    cmdlines: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdlines[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, bytes] = {}
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = cmdlines.get(child, b"")
        todo.extend(children.get(child, []))
    return found


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1  # it has exited


def wait_gone(pids: Iterable[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid):
            assert time.monotonic() < deadline, f"process {pid} outlived its run worker"
            time.sleep(0.05)


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return b"Z"


def run_worker(stack: Stack, run_id: str) -> int:
    """The run's worker: a process the daemon's code server spawned that holds the run's captured
    log files or runs the scan's deal reader. Other runs' workers (deals_current) are not it;
    the tests run one scan at a time when they look. Looked for again for a few seconds: a
    worker between its log files and its deal reader shows neither."""
    deadline = time.monotonic() + 10
    while True:
        tree = descendants(stack.dagster.daemon.proc.pid)
        found = []
        for pid, cmdline in tree.items():
            if b"spawn_main" not in cmdline or b"spawn_main" in tree.get(parent_of(pid), b""):
                continue
            try:
                paths = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
            except OSError:
                continue
            # The scan's worker holds its run's log files, and is the parent of its deal reader.
            reads = any(b"reader_process" in c for p, c in tree.items() if parent_of(p) == pid)
            if reads or any(run_id in path for path in paths):
                found.append(pid)
        if len(found) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(found) == 1, (found, tree)
    return found[0]


def checkpointed(data: dict[str, Any]) -> int:
    """Deals of the scan's published checkpoint (0 before its first)."""
    checkpoint = data["checkpointInfo"]["latestCheckpoint"] or {}
    return int(checkpoint.get("dealsExtracted") or 0)


def committed(stack: Stack, scan_id: str) -> int:
    rows, distinct = stack.deal_count(scan_id)
    assert rows == distinct, f"{scan_id}: duplicate deals"
    return rows


def chunk_boundaries(stack: Stack, scan_id: str) -> list[int]:
    """Deals committed after each of the scan's chunks, in order: the only places a scan may
    resume from (a chunk's rows carry its number and commit with its checkpoint)."""
    sizes = stack.query(
        f"SELECT count(*) FROM {DATASET_NAME}.deals WHERE _scan_id = %s "
        "GROUP BY _scan_chunk ORDER BY _scan_chunk",
        (scan_id,),
    )
    boundaries, total = [], 0
    for (size,) in sizes:
        total += size
        boundaries.append(total)
    return boundaries


def test_pause_at_half_then_resume(stack: Stack, reference: Reference) -> None:
    shim = stack.shim
    # List pages from deal 11,000 on wait: the scan reads half the deals, commits what it can,
    # then cannot go on, so the pause lands mid-scan however fast or busy the machine is.
    stack.sandbox.admin("POST", "conditions", {"holdFromDeal": DEALS // 2 + 1000})
    try:
        assert shim.start_scan("pause", stack.tokens[1], "org-pause", ARCHIVED).ok
        before, running = stack.shim.walk(
            "pause",
            lambda d: checkpointed(d) >= CHUNK and stack.served()["dealsServed"] > DEALS // 2,
        )
        paused = shim.post("/scan/pause/pause")
        assert paused.status_code == 200, paused.text
        assert paused.json() == {
            "success": True,
            "message": "Scan paused successfully",
            "data": {"scanId": "pause", "status": "paused"},
        }
        during, stopped = stack.shim.walk(
            "pause", lambda d: d["metadata"]["dagsterRunStatus"] == "CANCELED"
        )
    finally:
        stack.sandbox.admin("POST", "conditions", {"holdFromDeal": None})
    loaded = committed(stack, "pause")
    assert CHUNK <= loaded == checkpointed(stopped) < DEALS // 2 + 1000
    # A paused scan is neither resumed by the failure sensor nor pausable again.
    again = shim.post("/scan/pause/pause")
    assert again.status_code == 400
    assert again.json()["message"] == (
        "Cannot pause scan 'pause': it is paused; only a pending, running or resuming scan can "
        "be paused"
    )
    stack.sandbox.reset_stats()
    resumed = shim.post("/scan/pause/resume")
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["data"]["status"] == "resuming"
    assert body["data"]["resumedFromRunId"] == running["metadata"]["dagsterRunId"]
    after, done = stack.finish("pause")
    walk = [s for s in before + during + after if s != "pending"]
    folded = [s for i, s in enumerate(walk) if i == 0 or walk[i - 1] != s]
    assert folded == ["running", "paused", "resuming", "completed"]
    assert done["recordsExtracted"] == DEALS and done["metadata"]["runCount"] == 2
    assert stack.deal_rows("pause") == reference.rows
    served = stack.served()
    assert served["dealsServed"] == DEALS - loaded  # nothing committed is read again
    assert loaded in chunk_boundaries(stack, "pause")
    assert served["requestsTotal"] < reference.requests
    completed = shim.post("/scan/pause/resume")
    assert completed.status_code == 400
    assert completed.json()["message"] == (
        "Cannot resume scan 'pause': it is completed; only a paused, failed or crashed scan can "
        "be resumed"
    )


def test_killed_worker_is_failed_by_dagster_and_resumed_on_its_own(
    stack: Stack, reference: Reference
) -> None:
    """SIGKILL of the run worker alone: its code server reports the run failed at once, and
    Dagster's run retries resume the scan from its checkpoint without anyone asking."""
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 15})
    stack.sandbox.reset_stats()
    try:
        assert stack.shim.start_scan("worker", stack.tokens[7], "org-worker", ARCHIVED).ok
        before, running = stack.shim.walk("worker", lambda d: d["recordsExtracted"] >= 3 * CHUNK)
        worker = run_worker(stack, running["metadata"]["dagsterRunId"])
        helpers = descendants(worker)
        os.kill(worker, signal.SIGKILL)
        wait_gone(helpers)  # the worker's own processes stop with it: none reads on
        stack.sandbox.reset_stats()
        after, done = stack.finish("worker")
    finally:
        stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    assert done["status"] == "completed" and done["metadata"]["runCount"] == 2, done
    assert "resuming" in after, before + after
    assert stack.deal_rows("worker") == reference.rows
    # The retry read only what the checkpoint had not loaded.
    resumed_after = stack.deals_metadata(done["metadata"]["dagsterRunId"])["resumed_after_deals"]
    assert resumed_after >= CHUNK and resumed_after in chunk_boundaries(stack, "worker")
    assert stack.served()["dealsServed"] == DEALS - resumed_after


def test_lost_worker_is_detected_as_crashed_and_resumed(stack: Stack, reference: Reference) -> None:
    """The run worker and its code server SIGKILLed together (a lost host or container): nothing
    reports the run, which stays STARTED; only its heartbeat stops."""
    shim = stack.shim
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 15})
    try:
        assert shim.start_scan("kill", stack.tokens[2], "org-kill", ARCHIVED).ok
        _, running = stack.shim.walk("kill", lambda d: d["recordsExtracted"] >= 3 * CHUNK)
        worker = run_worker(stack, running["metadata"]["dagsterRunId"])
        code_server = parent_of(worker)
        assert b"grpc" in Path(f"/proc/{code_server}/cmdline").read_bytes()
        helpers = descendants(worker)
        os.kill(worker, signal.SIGKILL)
        os.kill(code_server, signal.SIGKILL)
        wait_gone(helpers)
    finally:
        stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    killed_at = time.monotonic()
    assert stack.shim.status("kill")["status"] == "running"  # Dagster still says STARTED
    fresh = shim.post("/maintenance/detect-crashed", params={"timeoutMinutes": 1})
    assert fresh.json()["data"] == {"crashedJobIds": [], "crashedCount": 0, "timeoutMinutes": 1}
    while True:
        detected = shim.post("/maintenance/detect-crashed", params={"timeoutMinutes": 1})
        assert detected.status_code == 200, detected.text
        if detected.json()["data"]["crashedCount"]:
            break
        assert time.monotonic() - killed_at < 150, "the killed scan was never detected"
        time.sleep(3)
    assert detected.json() == {
        "success": True,
        "message": "Detected 1 crashed jobs",
        "data": {"crashedJobIds": ["kill"], "crashedCount": 1, "timeoutMinutes": 1},
    }
    assert time.monotonic() - killed_at >= 58
    crashed = stack.shim.status("kill")
    assert crashed["status"] == "crashed"
    assert crashed["metadata"]["dagsterRunStatus"] == "CANCELED"
    assert crashed["errorMessage"].startswith("No heartbeat from the scan for over ")
    again = shim.post("/maintenance/detect-crashed", params={"timeoutMinutes": 1})
    assert again.json()["data"]["crashedJobIds"] == []
    loaded = committed(stack, "kill")
    published = crashed["checkpointInfo"]["latestCheckpoint"]["dealsExtracted"]
    stack.sandbox.reset_stats()
    assert shim.post("/scan/kill/resume").status_code == 200
    walk, done = stack.finish("kill")
    assert done["status"] == "completed" and "resuming" in walk, walk
    assert stack.deal_rows("kill") == reference.rows
    served = stack.served()
    # The resume starts at the committed checkpoint: the published one, or the next if the kill
    # came between its commit and its publication. Rows of a chunk whose load the kill cut short
    # can be in the table without their checkpoint; the resume dropped and reread them.
    resumed_after = DEALS - served["dealsServed"]
    boundaries = chunk_boundaries(stack, "kill")
    assert published >= CHUNK and published in boundaries, (published, boundaries)
    assert resumed_after in boundaries[boundaries.index(published) :][:2], (
        resumed_after,
        boundaries,
    )
    # Before the resume, the table held the committed chunks and at most the one cut short (a
    # chunk is CHUNK deals plus at most one reader batch of as many).
    assert 0 <= loaded - resumed_after < 2 * CHUNK, (loaded, resumed_after)
    assert served["requestsTotal"] < reference.requests


def test_faults_under_a_tight_rate_limit_finish_exact(stack: Stack, reference: Reference) -> None:
    stack.sandbox.admin(
        "POST",
        "conditions",
        {"faultRate": 0.1, "faultSeed": 11, "rateLimit": 40, "rateLimitWindowMs": 2000},
    )
    stack.sandbox.reset_stats()
    try:
        assert stack.shim.start_scan("faults", stack.tokens[3], "org-faults", ARCHIVED).ok
        _, done = stack.finish("faults", timeout=300)
        served = stack.served()
    finally:
        stack.sandbox.admin(
            "POST", "conditions", {"faultRate": 0, "rateLimit": 0, "rateLimitWindowMs": 10_000}
        )
    assert done["status"] == "completed", done
    assert served["faultsTotal"] >= 10
    assert sum(served["rateLimited"].values()) <= 3, served["rateLimited"]
    assert stack.deal_rows("faults") == reference.rows


def test_revoked_token_fails_readably_keeps_rows_and_leaks_nowhere(stack: Stack) -> None:
    token = fake_token()
    stack.sandbox.admin("POST", "tokens", {"token": token})
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 15})
    stack.sandbox.reset_stats()
    try:
        assert stack.shim.start_scan("revoked", token, "org-revoked", ARCHIVED).ok
        deadline = time.monotonic() + 120
        while stack.served()["dealsServed"] < DEALS // 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stack.sandbox.admin("POST", f"tokens/{token}/revoke")
        _, failed = stack.finish("revoked")
    finally:
        stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    assert failed["status"] == "failed"
    assert failed["errorMessage"].startswith("HubSpot rejected the access token (401")
    assert failed["metadata"]["errorCategory"] == "authentication_error"
    loaded = committed(stack, "revoked")
    assert CHUNK <= loaded < DEALS and loaded in chunk_boundaries(stack, "revoked")
    assert failed["checkpointInfo"]["latestCheckpoint"]["dealsExtracted"] == loaded
    # The token is nowhere: not in Dagster's storage, the destination or any log file.
    for dsn in (stack.dagster_dsn, stack.destination_dsn):
        tables = stack.query(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'",
            dsn=dsn,
        )
        assert len(tables) > 5
        for schema, table in tables:
            hits = stack.query(
                f'SELECT count(*) FROM "{schema}"."{table}" t WHERE t::text LIKE %s',
                (f"%{token}%",),
                dsn=dsn,
            )
            assert hits == [(0,)], f"token found in {schema}.{table}"
    files = [p for p in stack.log_dir.rglob("*") if p.is_file()]
    assert any(p.name == "daemon.log" for p in files)
    for path in files:
        assert token.encode() not in path.read_bytes(), f"token found in {path}"


def test_scan_survives_restarts_of_the_shim_and_the_webserver(
    stack: Stack, reference: Reference
) -> None:
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 25})
    try:
        assert stack.shim.start_scan("restarts", stack.tokens[4], "org-restarts", ARCHIVED).ok
        stack.shim.walk("restarts", lambda d: d["recordsExtracted"] >= CHUNK)
        stack.shim.process.stop()
        stack.shim.process.start()
        stack.shim.process.wait_http(stack.shim.api + "/openapi.json", timeout=60)
        during = stack.shim.status("restarts")
        assert during["status"] == "running" and during["recordsExtracted"] < DEALS
        stack.dagster.webserver.stop()
        try:
            # Answers about runs are served for up to HUBSPOT_DEALS_API_DAGSTER_RUNS_CACHE_SECONDS
            # (2) after they were read; then Dagster's absence shows.
            deadline = time.monotonic() + 10
            while (unavailable := stack.shim.get("/scan/restarts/status")).status_code == 200:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert unavailable.status_code == 503, unavailable.text
            assert unavailable.json()["success"] is False
        finally:
            stack.dagster.start_webserver()
    finally:
        stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    walk, done = stack.finish("restarts")
    assert done["status"] == "completed", done
    assert done["recordsExtracted"] == DEALS and done["metadata"]["runCount"] == 1
    assert stack.deal_rows("restarts") == reference.rows


def test_two_organizations_side_by_side_while_the_same_one_waits(stack: Stack) -> None:
    shim = stack.shim
    stack.sandbox.admin("POST", "conditions", {"latencyMs": 10})
    try:
        for scan_id, token, org in (
            ("x-1", stack.tokens[5], "org-x"),
            ("y-1", stack.tokens[6], "org-y"),
            ("x-2", stack.tokens[5], "org-x"),
        ):
            # Two properties: the queue's order is the point here, not the columns.
            filters = {**ARCHIVED, "properties": ["dealname", "amount"]}
            assert shim.start_scan(scan_id, token, org, filters).ok
        moments = []
        deadline = time.monotonic() + 300
        while True:
            moment = tuple(stack.shim.status(s)["status"] for s in ("x-1", "y-1", "x-2"))
            moments.append(moment)
            if all(s == "completed" for s in moment):
                break
            assert "failed" not in moment and time.monotonic() < deadline, moments
            time.sleep(0.3)
    finally:
        stack.sandbox.admin("POST", "conditions", {"latencyMs": 0})
    assert ("running", "running", "pending") in moments
    # x-2 never ran while x-1 did.
    assert not [m for m in moments if m[0] == "running" and m[2] == "running"]
    times = {s: stack.shim.status(s) for s in ("x-1", "y-1", "x-2")}

    def span(scan_id: str) -> tuple[datetime, datetime]:
        start, end = times[scan_id]["startTime"], times[scan_id]["endTime"]
        return datetime.fromisoformat(start), datetime.fromisoformat(end)

    assert span("y-1")[0] < span("x-1")[1] and span("x-1")[0] < span("y-1")[1]
    assert span("x-2")[0] >= span("x-1")[1]
    for scan_id in ("x-1", "y-1", "x-2"):
        assert committed(stack, scan_id) == DEALS
