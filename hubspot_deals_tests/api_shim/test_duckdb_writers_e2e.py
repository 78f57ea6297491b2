"""DuckDB's single writer under concurrent runs, end to end: `dagster dev` (SQLite storage, the
daemon) with four runs allowed at once and one per organization, two organizations' scheduled
scans, the change sensor's scans, deals_current rebuilds, the API polling status and reading
results throughout, and another process holding read-only connections to the file again and
again. Every run succeeds, the writers never overlap, and each organization's deals_current
equals HubSpot.
"""

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from hubspot_deals.defs.writer_pool import WRITER_POOL
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.api_shim.conftest import REPO, Shim, home_env, shim_env
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.defs.test_current import assert_equals_hubspot
from hubspot_deals_tests.servers import DagsterDev, HeldReadConnection
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.slow

ORGS = ("org-a", "org-b")
QUEUE = """\
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: hubspot_deals/organization_id
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""
IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
WRITER_STEPS = ("hubspot_scan", "hubspot__deals_current")


class Readers:
    """The file's other users, in threads: a process holding a read-only connection for half a
    second in every second and a half, and an API client polling every scan's status and
    reading the tables of the completed ones."""

    def __init__(self, duckdb_file: Path, shim: Shim) -> None:
        self.duckdb_file, self.shim = duckdb_file, shim
        self.stop = threading.Event()
        self.holds = 0
        self.polls = 0
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._hold, daemon=True),
            threading.Thread(target=self._poll, daemon=True),
        ]

    def __enter__(self) -> "Readers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _hold(self) -> None:
        while not self.stop.is_set():
            if self.duckdb_file.exists():
                try:
                    with HeldReadConnection(self.duckdb_file):
                        self.holds += 1
                        self.stop.wait(0.5)
                except RuntimeError:
                    pass  # a writer had the file at that moment: the reader waits, as the API does
            self.stop.wait(1.0)

    def _poll(self) -> None:
        while not self.stop.is_set():
            listed = self.shim.get("/scan/list", params={"limit": 100})
            if listed.status_code != 200:
                self.errors.append(f"list {listed.status_code}: {listed.text[:200]}")
            for scan in listed.json()["data"]["scans"] if listed.ok else []:
                status = self.shim.get(f"/scan/{scan['scanId']}/status")
                self.polls += 1
                if status.status_code != 200:
                    self.errors.append(f"status {status.status_code}: {status.text[:200]}")
                elif status.json()["data"]["status"] == "completed":
                    tables = self.shim.get(f"/results/{scan['scanId']}/tables")
                    if tables.status_code not in (200, 503):  # 503: a writer had it too long
                        self.errors.append(f"tables {tables.status_code}: {tables.text[:200]}")
            self.stop.wait(0.3)


def wait_for(condition: Any, timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(every)


@pytest.fixture
def env(tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    home = home_env(tmp_path, QUEUE)
    for key, value in home.items():
        monkeypatch.setenv(key, value)  # this process reads the same file and instance
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def test_concurrent_scans_rebuilds_and_readers_all_complete_and_current_equals_hubspot(
    env: dict[str, str], tmp_path: Path
) -> None:
    tokens = {org: fake_token() for org in ORGS}
    orgs_file = tmp_path / "organizations.yaml"
    orgs_file.write_text(
        "organizations:\n"
        + "".join(
            f"  - id: {org}\n    token_env: TOKEN_{org[-1].upper()}\n    cron: '* * * * *'\n"
            for org in ORGS
        )
    )
    with SandboxServer(deals=2000, seed=61, tokens=list(tokens.values())) as sandbox:
        stack_env = {
            **env,
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_DEALS_ORGANIZATIONS_FILE": str(orgs_file),
            # Its shortest: the changes are seen, and seen scanned, soonest.
            "HUBSPOT_DEALS_CHANGE_SENSOR_SECONDS": "10",
            "HUBSPOT_DEALS_CHECKPOINT_DEALS": "250",  # many loads: many chances to collide
            **{f"TOKEN_{org[-1].upper()}": token for org, token in tokens.items()},
        }
        with (
            DagsterDev(stack_env, tmp_path) as dagster,
            Shim(shim_env(dagster, env, open_access="true"), tmp_path) as shim,
            DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance,
        ):
            wait_for(
                lambda: instance.event_log_storage.get_concurrency_info(WRITER_POOL).slot_count,
                180,
                "the duckdb_writer_pool sensor sets the pool's one slot",
            )
            with Readers(get_settings().duckdb_file, shim) as readers:
                # Both organizations' first scheduled scans (on the next minute), then no more.
                wait_for(lambda: all(runs_of(instance, org, "schedule") for org in ORGS), 240,
                         "both schedules fire")  # fmt: skip
                for org in ORGS:
                    stop_schedule(dagster, "incremental_scan_" + org.replace("-", "_"))
                # HubSpot changes while the first scan runs: that organization's scan is stale
                # when it completes, and the change sensor scans it again (next to the other
                # organization's scheduled scan and the rebuilds).
                wait_for(lambda: scan_reading(instance), 240, "a scheduled scan reads deals",
                         every=0.2)  # fmt: skip
                changed_at = datetime.now().astimezone()
                live = sandbox.account().live_deal_ids()
                renamed = {"ids": live[:15], "properties": {"dealname": "Changed"}}
                sandbox.admin("POST", "deals/modify", renamed)
                sandbox.admin("POST", "deals/archive", {"ids": live[300:304]})
                sandbox.admin("POST", "deals/create", {"count": 6})
                wait_for(lambda: settled(instance, changed_at), 900,
                         "each organization scanned after the changes, then rebuilt")  # fmt: skip
            assert readers.errors == []
            assert readers.holds > 10 and readers.polls > 10
            runs = instance.get_runs(RunsFilter(job_name="scan_job")) + instance.get_runs(
                RunsFilter(job_name="deals_current_job")
            )
            failed = [(r.job_name, r.tags.get("dagster/partition"), r.status,
                       failure_messages(instance, r.run_id))
                      for r in runs if r.status != DagsterRunStatus.SUCCESS]  # fmt: skip
            assert failed == []
            assert runs_of(instance, None, "change_sensor"), "the change sensor never scanned"
            assert writers_never_overlap(instance, runs)
            partitions = instance.get_dynamic_partitions("scans")
            with_runs = {r.tags.get("dagster/partition") for r in runs}
            assert set(partitions) <= with_runs, "a scan partition without a run"
        for org in ORGS:
            assert assert_equals_hubspot(org, sandbox, tokens[org]) == 2006


def failure_messages(instance: DagsterInstance, run_id: str) -> list[str]:
    """What a failed run's steps and the run itself said, for the assertion's message."""
    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    said = []
    for record in instance.get_records_for_run(run_id, of_type=kinds).records:
        entry = record.event_log_entry
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        error = getattr(data, "error", None)
        said.append(
            f"{entry.step_key}: {(error.to_string() if error else entry.user_message)[-2000:]}"
        )
    return said


def runs_of(instance: DagsterInstance, org: str | None, trigger: str) -> list:
    tags = {"hubspot_deals/trigger": trigger}
    if org:
        tags["hubspot_deals/organization_id"] = org
    return instance.get_runs(RunsFilter(job_name="scan_job", tags=tags))


def scan_reading(instance: DagsterInstance) -> bool:
    """A scan run has read deals (its progress tag shows some)."""
    return any(
        int(r.tags.get("hubspot_deals/records_extracted", "0") or 0) > 0
        for r in instance.get_runs(RunsFilter(job_name="scan_job"))
    )


def settled(instance: DagsterInstance, changed_at: datetime) -> bool:
    """Nothing runs or waits, and each organization's newest scan began after the changes, found
    nothing changed since (the change sensor's last check), and was followed by a rebuild."""
    if instance.get_runs(RunsFilter(statuses=IN_PROGRESS), limit=1):
        return False
    states = [s for s in instance.all_instigator_state() if s.name == "hubspot_changes_sensor"]
    cursor = states[0].instigator_data.cursor if states and states[0].instigator_data else None
    checks = json.loads(cursor) if cursor else {}
    for org in ORGS:
        scans = instance.get_run_records(
            RunsFilter(job_name="scan_job", tags={"hubspot_deals/organization_id": org},
                       statuses=[DagsterRunStatus.SUCCESS]), limit=1,
        )  # fmt: skip
        rebuilds = instance.get_run_records(
            RunsFilter(job_name="deals_current_job", tags={"hubspot_deals/organization_id": org},
                       statuses=[DagsterRunStatus.SUCCESS]), limit=1,
        )  # fmt: skip
        check = checks.get(org, {})
        if not scans or not rebuilds or not check or check.get("changed_deals") != 0:
            return False
        if datetime.fromisoformat(check["modified_since"]) < changed_at:
            return False  # its newest scan began before the changes
        if rebuilds[0].create_timestamp.timestamp() < (scans[0].end_time or 0):
            return False
    return True


def writers_never_overlap(instance: DagsterInstance, runs: list) -> bool:
    """The scan ops and rebuilds (the pool's steps) ran one at a time."""
    spans = sorted(
        (stats.start_time, stats.end_time, run.run_id, stats.step_key)
        for run in runs
        for stats in instance.get_run_step_stats(run.run_id)
        if stats.step_key in WRITER_STEPS and stats.start_time and stats.end_time
    )
    assert len(spans) >= 6, spans
    for before, after in zip(spans, spans[1:], strict=False):
        assert before[1] <= after[0], f"{before} overlaps {after}"
    return True


def stop_schedule(dagster: DagsterDev, name: str) -> None:
    found = dagster.graphql(
        """query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {
             ... on Schedule { id } } }""",
        {"s": {**REPO, "scheduleName": name}},
    )
    stopped = dagster.graphql(
        """mutation($id: String!) { stopRunningSchedule(id: $id) { __typename } }""",
        {"id": found["scheduleOrError"]["id"]},
    )
    assert stopped["stopRunningSchedule"]["__typename"] == "ScheduleStateResult", stopped
