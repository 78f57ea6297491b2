"""Schedules and sensors evaluated against a real Dagster instance and the sandbox."""

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
)

from hubspot_deals.defs.definitions import defs
from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.defs.partitions import scans_partitions
from hubspot_deals.defs.schedules import build_scan_schedule
from hubspot_deals.defs.sensors import (
    build_change_sensor,
    detect_crashed_scans,
    resume_failed_scans,
)
from hubspot_deals.organizations import (
    OrganizationsFileError,
    ScheduledOrganization,
    load_organizations,
)
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.servers import HeldReadConnection
from hubspot_sandbox.process import SandboxServer

REPO = defs.get_repository_def()
ORG = ScheduledOrganization(id="org-12345", token_env="HUBSPOT_TOKEN_ORG_12345")


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, project_home):
    token = fake_token()
    with SandboxServer(deals=800, seed=51, tokens=[token]) as sb:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sb.base_url)
        monkeypatch.setenv(ORG.token_env, token)
        get_settings.cache_clear()
        sb.test_token = token
        yield sb


def run_request(request: RunRequest, instance: DagsterInstance):
    return defs.resolve_job_def("scan_job").execute_in_process(
        run_config=request.run_config,
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
        raise_on_error=False,
    )


def test_organizations_file(tmp_path: Path) -> None:
    path = tmp_path / "orgs.yaml"
    assert load_organizations(path) == []
    path.write_text(
        "organizations:\n"
        "  - id: org-a\n    token_env: TOKEN_A\n"
        "  - id: org_b\n    token_env: TOKEN_B\n    cron: '30 6 * * 1'\n"
        "    properties: [dealname]\n    change_sensor: false\n"
    )
    orgs = load_organizations(path)
    assert [(o.id, o.cron, o.properties, o.change_sensor) for o in orgs] == [
        ("org-a", "0 3 * * *", None, True),
        ("org_b", "30 6 * * 1", ["dealname"], False),
    ]
    path.write_text("organizations:\n  - id: 'bad id!'\n    token_env: T\n")
    with pytest.raises(OrganizationsFileError, match="letters, digits"):
        load_organizations(path)


def test_daily_schedule_adds_a_readable_scan_and_runs_it(
    instance: DagsterInstance, sandbox
) -> None:
    schedule = build_scan_schedule(ORG)
    assert schedule.name == "incremental_scan_org_12345"
    assert schedule.cron_schedule == "0 3 * * *"
    when = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    request = schedule.evaluate_tick(
        build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=REPO
        )
    ).run_requests[0]
    assert request.partition_key == "org-12345-2026-11-21"
    assert instance.has_dynamic_partition(scans_partitions.name, "org-12345-2026-11-21")
    assert request.tags == {
        "hubspot_deals/organization_id": "org-12345",
        "hubspot_deals/scan_type": "incremental",
        "hubspot_deals/trigger": "schedule",
        "dagster/partition": "org-12345-2026-11-21",
        "dagster/partition_set": "scan_job_partition_set",
        "dagster/schedule_name": "incremental_scan_org_12345",
    }
    config = request.run_config["ops"]["hubspot_scan"]["config"]
    assert config == {
        "scan_type": "incremental", "organization_id": "org-12345",
        "include_archived": False, "access_token_env": "HUBSPOT_TOKEN_ORG_12345",
    }  # fmt: skip
    assert sandbox.test_token not in json.dumps(request.run_config)
    # A second tick the same day gets its own scan.
    again = schedule.evaluate_tick(
        build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=REPO
        )
    ).run_requests[0]
    assert again.partition_key == "org-12345-2026-11-21-030000"
    result = run_request(request, instance)
    assert result.success
    account = sandbox.account()
    ids = [r["id"] for r in scan_rows("deals", "org-12345-2026-11-21")]
    assert ids == sorted(account.live_deal_ids() + account.archived_deal_ids())


def test_change_sensor_starts_an_incremental_scan_only_on_changes(
    instance: DagsterInstance, sandbox
) -> None:
    change_sensor = build_change_sensor([ORG])

    def tick(cursor: str | None) -> SensorResult:
        return change_sensor(
            build_sensor_context(instance=instance, cursor=cursor, repository_def=REPO)
        )

    first = tick(None)  # never scanned: the schedule does the first scan
    assert first.run_requests == [] and json.loads(first.cursor) == {}
    full = execute_scan(instance, "org-12345-full", scan_run_config(ORG.id, sandbox.test_token))
    assert full.success
    quiet = tick(first.cursor)
    assert quiet.run_requests == []
    state = json.loads(quiet.cursor)["org-12345"]
    assert state["changed_deals"] == 0
    assert datetime.fromisoformat(state["modified_since"]) == datetime.fromisoformat(
        full.deals_metadata["scan_started_at"]
    )

    changed = sandbox.account().live_deal_ids()[:5]
    sandbox.admin("POST", "deals/modify", {"ids": changed, "properties": {"dealname": "X"}})
    busy = tick(quiet.cursor)
    (request,) = busy.run_requests
    assert json.loads(busy.cursor)["org-12345"]["changed_deals"] == 5
    assert request.partition_key.startswith("org-12345-")
    (add,) = busy.dynamic_partitions_requests
    assert (add.partitions_def_name, list(add.partition_keys)) == ("scans", [request.partition_key])
    instance.add_dynamic_partitions("scans", [request.partition_key])
    assert run_request(request, instance).success
    assert [r["id"] for r in scan_rows("deals", request.partition_key)] == sorted(changed)
    assert tick(busy.cursor).run_requests == []  # nothing changed since that scan began


def _failure_context(instance: DagsterInstance, run_id: str):
    event = (
        instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE)
        .records[0]
        .event_log_entry.dagster_event
    )
    return build_run_status_sensor_context(
        sensor_name="resume_failed_scans",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        dagster_event=event,
    ).for_run_failure()


def test_failure_sensor_resumes_transient_failures_only(
    instance: DagsterInstance, sandbox, monkeypatch
) -> None:
    wrong = scan_run_config("org-f", fake_token())
    auth = execute_scan(instance, "auth-fail", wrong)
    assert not auth.success
    skip = resume_failed_scans(_failure_context(instance, auth.run_id))
    assert isinstance(skip, SkipReason) and "authentication_error" in skip.skip_message

    monkeypatch.setenv("HUBSPOT_DEALS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("HUBSPOT_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    get_settings.cache_clear()
    cfg = scan_run_config("org-f", sandbox.test_token)
    down = execute_scan(instance, "hubspot-down", cfg)
    assert not down.success
    request = resume_failed_scans(_failure_context(instance, down.run_id))
    assert isinstance(request, RunRequest)
    assert request.partition_key == "hubspot-down"
    assert request.run_config == instance.get_run_by_id(down.run_id).run_config
    assert request.tags["hubspot_deals/resume_attempt"] == "1"
    assert request.tags["hubspot_deals/organization_id"] == "org-f"

    exhausted = defs.resolve_job_def("scan_job").execute_in_process(
        run_config=cfg, instance=instance, partition_key="hubspot-down",
        tags={"hubspot_deals/resume_attempt": "3"}, raise_on_error=False,
    )  # fmt: skip
    skip = resume_failed_scans(_failure_context(instance, exhausted.run_id))
    assert isinstance(skip, SkipReason) and "3 automatic resumes" in skip.skip_message


def test_crash_sensor_marks_silent_scans_failed_and_they_are_resumed(
    instance: DagsterInstance,
) -> None:
    from dagster._core.test_utils import create_run_for_test

    def beat(minutes_ago: float) -> str:
        return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")

    def scan_run(scan_id: str, minutes_ago: float):
        instance.add_dynamic_partitions("scans", [scan_id])
        return create_run_for_test(
            instance, job_name="scan_job", status=DagsterRunStatus.STARTED,
            run_config=scan_run_config("org-c", fake_token()),
            tags={"dagster/partition": scan_id, "hubspot_deals/organization_id": "org-c",
                  "hubspot_deals/heartbeat": beat(minutes_ago)},
        )  # fmt: skip

    silent, alive = scan_run("silent", 10.5), scan_run("alive", 0.2)
    result = detect_crashed_scans(build_sensor_context(instance=instance, repository_def=REPO))
    assert result.skip_message == f"marked 1 crashed run(s) failed: {silent.run_id}"
    crashed = instance.get_run_by_id(silent.run_id)
    assert crashed.status == DagsterRunStatus.FAILURE
    assert crashed.tags["dagster/failure_reason"] == "UNEXPECTED_TERMINATION"
    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
    # The worker died, a transient cause: the failure sensor resumes it from its checkpoint.
    request = resume_failed_scans(_failure_context(instance, silent.run_id))
    assert isinstance(request, RunRequest) and request.partition_key == "silent"
    assert request.tags["hubspot_deals/resumed_from"] == silent.run_id
    again = detect_crashed_scans(build_sensor_context(instance=instance, repository_def=REPO))
    assert again.skip_message == "1 running scan(s), none without a heartbeat for 600 s"


def test_a_busy_destination_is_transient_and_resumed_whatever_step_met_it(
    instance: DagsterInstance, sandbox
) -> None:
    """A scan whose summary met a DuckDB file still locked past the patience failed for a
    transient cause, not a failed check: it is resumed."""
    from dagster import DagsterEvent
    from dagster._core.execution.plan.objects import StepFailureData
    from dagster._core.test_utils import create_run_for_test
    from dagster._utils.error import serializable_error_info_from_exc_info

    from hubspot_deals.load.current import rebuild_current_deals
    from hubspot_deals.load.destination import make_pipeline

    done = execute_scan(instance, "busy-1", scan_run_config("org-busy", sandbox.test_token))
    assert done.success, done.error
    with HeldReadConnection(get_settings().duckdb_file):
        try:  # the error a write meets while another process reads the file
            rebuild_current_deals(make_pipeline("hubspot_deals_current"), "org-busy", [])
        except Exception:
            error = serializable_error_info_from_exc_info(sys.exc_info())
    assert "could not set lock" in str(error.to_string()).lower()
    run = create_run_for_test(
        instance, job_name="scan_job", status=DagsterRunStatus.STARTED,
        run_config=scan_run_config("org-busy", sandbox.test_token),
        tags={"dagster/partition": "busy-1", "hubspot_deals/organization_id": "org-busy"},
    )  # fmt: skip
    instance.report_dagster_event(
        DagsterEvent(
            event_type_value=DagsterEventType.STEP_FAILURE.value,
            job_name="scan_job",
            step_key="hubspot__deal_summary",
            event_specific_data=StepFailureData(error=error, user_failure_data=None),
        ),
        run.run_id,
    )
    instance.report_run_failed(run)
    request = resume_failed_scans(_failure_context(instance, run.run_id))
    assert isinstance(request, RunRequest), request
    assert request.partition_key == "busy-1"
    assert request.run_key == f"resume-{run.run_id}"
    assert request.tags["hubspot_deals/resume_attempt"] == "1"


def test_change_sensor_retries_with_a_new_run_key_and_removes_a_scan_left_without_a_run(
    instance: DagsterInstance, sandbox
) -> None:
    from dagster._core.test_utils import create_run_for_test

    change_sensor = build_change_sensor([ORG])

    def tick(cursor: str | None) -> SensorResult:
        return change_sensor(
            build_sensor_context(instance=instance, cursor=cursor, repository_def=REPO)
        )

    full = execute_scan(instance, "org-12345-full", scan_run_config(ORG.id, sandbox.test_token))
    assert full.success
    changed = sandbox.account().live_deal_ids()[:5]
    sandbox.admin("POST", "deals/modify", {"ids": changed, "properties": {"dealname": "X"}})
    first = tick(None)
    (request,) = first.run_requests
    # The daemon adds the partition and runs the request; the run fails, and is not resumed.
    instance.add_dynamic_partitions("scans", [request.partition_key])
    failed = create_run_for_test(
        instance, job_name="scan_job", status=DagsterRunStatus.FAILURE,
        tags={**request.tags, "dagster/partition": request.partition_key,
              "dagster/run_key": request.run_key},
    )  # fmt: skip
    second = tick(first.cursor)
    (retry,) = second.run_requests
    assert retry.run_key != request.run_key
    assert retry.run_key.endswith(f":after-{failed.run_id}")
    assert retry.partition_key != request.partition_key
    assert second.dynamic_partitions_requests[0].partition_keys == [retry.partition_key]
    # This request is dropped: its partition is added, but no run is made for it.
    instance.add_dynamic_partitions("scans", [retry.partition_key])
    third = tick(second.cursor)
    removals = [
        list(r.partition_keys)
        for r in third.dynamic_partitions_requests
        if type(r).__name__ == "DeleteDynamicPartitionsRequest"
    ]
    assert removals == [[retry.partition_key]]
    (again,) = third.run_requests  # the changes are still there: asked for once more
    assert again.partition_key not in (request.partition_key, retry.partition_key)


def test_writer_pool_sensor_keeps_one_slot_and_frees_those_of_ended_runs(
    instance: DagsterInstance,
) -> None:
    from dagster._core.test_utils import create_run_for_test

    from hubspot_deals.defs.sensors import duckdb_writer_pool
    from hubspot_deals.defs.writer_pool import WRITER_POOL

    def tick() -> str:
        return duckdb_writer_pool(
            build_sensor_context(instance=instance, repository_def=REPO)
        ).skip_message

    storage = instance.event_log_storage
    assert REPO.get_job("scan_job").graph.node_named("hubspot_scan").definition.pool == WRITER_POOL
    assert tick() == f"limit of {WRITER_POOL} set to 1"
    assert storage.get_concurrency_info(WRITER_POOL).slot_count == 1
    assert tick() == f"{WRITER_POOL} has one slot, held by no ended run"

    def scan_run(scan_id: str, minutes_ago: float):
        instance.add_dynamic_partitions("scans", [scan_id])
        return create_run_for_test(
            instance, job_name="scan_job", status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": scan_id, "hubspot_deals/organization_id": "org-p",
                  "hubspot_deals/heartbeat": (datetime.now(UTC) - timedelta(minutes=minutes_ago))
                  .isoformat(timespec="seconds")},
        )  # fmt: skip

    holder, waiter = scan_run("holder", 0.1), scan_run("waiter", 30)
    assert storage.claim_concurrency_slot(WRITER_POOL, holder.run_id, "hubspot_scan").is_claimed
    assert not storage.claim_concurrency_slot(WRITER_POOL, waiter.run_id, "hubspot_scan").is_claimed
    # Waiting for the writer's slot for half an hour is not a crash.
    crash = detect_crashed_scans(build_sensor_context(instance=instance, repository_def=REPO))
    assert crash.skip_message == "2 running scan(s), none without a heartbeat for 600 s"
    assert instance.get_run_by_id(waiter.run_id).status == DagsterRunStatus.STARTED
    # The holder's worker is killed: its slot stays taken until the sensor frees it.
    instance.report_run_failed(holder)
    assert [s.run_id for s in storage.get_concurrency_info(WRITER_POOL).claimed_slots] == [
        holder.run_id
    ]
    assert tick() == f"freed the slots of ended runs {holder.run_id}"
    info = storage.get_concurrency_info(WRITER_POOL)
    assert [(s.run_id, s.assigned_timestamp is not None) for s in info.pending_steps] == [
        (waiter.run_id, True)
    ]
