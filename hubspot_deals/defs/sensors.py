"""Sensors: deals_current on scan success, HubSpot changes, crashed scans, resuming failed
scans, and DuckDB's writer pool."""

import functools
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._utils.error import SerializableErrorInfo

from hubspot_deals.defs.incremental import last_scan_start
from hubspot_deals.defs.jobs import deals_current_job, scan_job, scan_job_for
from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames
from hubspot_deals.defs.partitions import organizations_partitions, scans_partitions
from hubspot_deals.defs.schedules import scheduled_scan_request
from hubspot_deals.defs.writer_pool import keep_writer_pool, runs_waiting_for_writer, writer_pool
from hubspot_deals.load.failures import UNAVAILABLE_CATEGORY, unavailable_message
from hubspot_deals.organizations import ScheduledOrganization
from hubspot_deals.run_failure import read_failure_metadata
from hubspot_deals.scan import (
    ACTIVE_RUN_STATUSES,
    SCAN_OP_NAME,
    Tag,
    changed_scan_id,
    has_crashed,
    heartbeat_age,
    resume_tags,
)
from hubspot_deals.settings import get_settings
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.errors import HubSpotAuthenticationError, HubSpotError
from hubspot_deals.source.reader import ObjectReader, ScanFilter


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[scan_job],
    request_job=deals_current_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="When a scan completes, rebuilds its organization's deals_current.",
)
def deals_current_on_scan_success(context: RunStatusSensorContext) -> RunRequest | SkipReason:
    organization_id = context.dagster_run.tags.get(Tag.ORGANIZATION)
    if not organization_id:
        return SkipReason(f"run {context.dagster_run.run_id} has no organization tag")
    if not context.instance.has_dynamic_partition(organizations_partitions.name, organization_id):
        context.instance.add_dynamic_partitions(organizations_partitions.name, [organization_id])
    return RunRequest(
        run_key=f"current-{context.dagster_run.run_id}",
        partition_key=organization_id,
        tags={Tag.ORGANIZATION: organization_id},
    )


# Runs that may still write (the contract's group, the REST API's too): one scan at a time.
IN_PROGRESS = [DagsterRunStatus(status) for status in sorted(ACTIVE_RUN_STATUSES)]


def scan_in_progress(instance: DagsterInstance, organization_id: str) -> bool:
    return bool(
        instance.get_run_records(
            RunsFilter(tags={Tag.ORGANIZATION: organization_id}, statuses=IN_PROGRESS), limit=1
        )
    )


def changed_deals(org: ScheduledOrganization, since_ms: int) -> int:
    """HubSpot's count of the organization's deals modified since: one search request."""
    token = os.environ.get(org.token_env, "")
    if not token:
        raise HubSpotAuthenticationError(f"environment variable {org.token_env} is not set")
    client = HubSpotClient(token, get_settings().api_base_url, max_attempts=3)
    try:
        reader = ObjectReader(client, [], ScanFilter(modified_since_ms=since_ms))
        return reader.expected_live_total()
    finally:
        client.close()


def latest_run_id(instance: DagsterInstance, organization_id: str) -> str | None:
    """The organization's newest run of any job (its scans and its deals_current rebuilds)."""
    records = instance.get_run_records(
        RunsFilter(tags={Tag.ORGANIZATION: organization_id}), limit=1
    )
    return records[0].dagster_run.run_id if records else None


def scan_has_run(instance: DagsterInstance, scan_id: str) -> bool:
    return bool(instance.get_run_records(RunsFilter(tags={Tag.PARTITION: scan_id}), limit=1))


def build_change_sensor(orgs: Sequence[ScheduledOrganization]) -> SensorDefinition:
    watched = [o for o in orgs if o.change_sensor]

    @sensor(
        name="hubspot_changes_sensor",
        job=scan_job,
        minimum_interval_seconds=get_settings().change_sensor_seconds,
        default_status=DefaultSensorStatus.RUNNING if watched else DefaultSensorStatus.STOPPED,
        description="Checks each organization of the organizations file for deals modified "
        "since its last scan (one search request) and starts an incremental scan if any.",
    )
    def hubspot_changes_sensor(context: SensorEvaluationContext) -> SensorResult:
        cursor: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        requests: list[RunRequest] = []
        orphans: list[str] = []
        now = datetime.now(UTC)
        for org in watched:
            # A scan this sensor added whose run request was dropped has no run: remove it.
            requested = cursor.get(org.id, {}).pop("requested_scan", None)
            if (
                requested
                and context.instance.has_dynamic_partition(scans_partitions.name, requested)
                and not scan_has_run(context.instance, requested)
            ):
                orphans.append(requested)
            if scan_in_progress(context.instance, org.id):
                continue
            started = last_scan_start(context.instance, org.id)
            if started is None:
                continue  # the first scan of an organization comes from its schedule
            try:
                changed = changed_deals(org, int(started.timestamp() * 1000))
            except HubSpotError as exc:
                context.log.warning(f"{org.id}: cannot check HubSpot for changes: {exc}")
                continue
            cursor[org.id] = {
                "checked_at": now.isoformat(timespec="seconds"),
                "modified_since": started.isoformat(),
                "changed_deals": changed,
            }
            if not changed:
                continue
            scan_id = changed_scan_id(
                org.id,
                now,
                lambda s: context.instance.has_dynamic_partition(scans_partitions.name, s),
            )
            # The same changes ask for one run, but a retry after that run failed (the
            # organization's newest run is then another) must not reuse its key: Dagster drops
            # a request whose key already has a run.
            after = latest_run_id(context.instance, org.id) or "none"
            run_key = f"{org.id}:{started.isoformat()}:after-{after}"
            requests.append(scheduled_scan_request(org, scan_id, run_key, "change_sensor"))
            cursor[org.id]["requested_scan"] = scan_id
        partition_requests = []
        if requests:
            partition_requests.append(
                scans_partitions.build_add_request([r.partition_key for r in requests])
            )
        if orphans:
            context.log.info(f"removing scans whose run request was dropped: {orphans}")
            partition_requests.append(scans_partitions.build_delete_request(orphans))
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=partition_requests,
            cursor=json.dumps(cursor, sort_keys=True),
        )

    return hubspot_changes_sensor


def failure_of(
    instance: DagsterInstance, run_id: str, scan_op: str = SCAN_OP_NAME
) -> tuple[str, bool]:
    """The failed run's error category and whether it was transient.

    A step that raised one of our `Failure`s says so in its metadata; any other step error (a
    database outage, a crash) counts as transient; a failed asset check does not.
    """
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data
        if data.user_failure_data is not None:
            category, transient = read_failure_metadata(data.user_failure_data.metadata or {})
            return category or "failure", transient
        if error_chain_unavailable(data.error):
            # Past the patience: another writer or a database outage, not the data.
            return UNAVAILABLE_CATEGORY, True
        if event.step_key and event.step_key != scan_op:
            return "check_failed", False
        return "error", True
    return "run_failure", True  # no step failed: the run itself died or was stopped


def error_chain_unavailable(error: SerializableErrorInfo | None) -> bool:
    """Whether a recorded step error, or any error it was raised from, says the destination was
    unavailable (busy DuckDB file, PostgreSQL outage): the rule of `load/failures.py`."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if unavailable_message(error.message):
            return True
        error = error.cause or error.context
    return False


@functools.cache
def build_resume_sensor(
    names: HubSpotNames = CONTRACT_NAMES, organization_id: str | None = None
) -> SensorDefinition:
    """`resume_failed_scans` of one instance (its scan job); built once per instance."""
    job = scan_job_for(names, organization_id)

    @run_failure_sensor(
        name=f"{names.sensor_prefix}resume_failed_scans",
        monitored_jobs=[job],
        request_job=job,
        default_status=DefaultSensorStatus.RUNNING,
        description="Resumes a scan that failed for a transient cause from its checkpoint, a "
        "bounded number of times; never after an authentication, scope or configuration error.",
    )
    def resume_failed_scans(context: RunFailureSensorContext) -> RunRequest | SkipReason:
        run = context.dagster_run
        if run.tags.get(Tag.WILL_RETRY) == "true":
            return SkipReason(f"run {run.run_id} is retried by Dagster's run retries")
        attempt = int(run.tags.get(Tag.RESUME_ATTEMPT, "0"))
        limit = get_settings().resume_attempts
        category, transient = failure_of(context.instance, run.run_id, names.scan_op)
        if not transient:
            return SkipReason(f"run {run.run_id} failed with {category}: not resumed")
        if attempt >= limit:
            return SkipReason(f"run {run.run_id}: {attempt} automatic resumes already")
        scan_id = run.tags.get(Tag.PARTITION)
        if not scan_id or not context.instance.has_dynamic_partition(
            names.scans_partitions, scan_id
        ):
            return SkipReason(f"run {run.run_id}: its scan no longer exists")
        return RunRequest(
            run_key=f"resume-{run.run_id}",
            partition_key=scan_id,
            run_config=run.run_config,
            tags=resume_tags(run.tags, run.run_id, "auto_resume", attempt=attempt + 1),
        )

    return resume_failed_scans


IMPLICIT_ASSET_JOB = "__ASSET_JOB"  # Dagster's job of the assets materialized from the UI


@functools.cache
def build_crash_sensor(
    names: HubSpotNames = CONTRACT_NAMES, organization_id: str | None = None
) -> SensorDefinition:
    """`detect_crashed_scans` of one instance: its scan job's runs, and the runs of its scan
    assets started from the UI (known by their heartbeat tag); built once per instance."""
    job = scan_job_for(names, organization_id)

    def is_scan_run(run: DagsterRun) -> bool:
        if run.job_name == job.name:
            return True
        # UI materializations run as an asset job: a scan's run is known by its heartbeat tag,
        # this instance's by the assets it selected.
        if Tag.HEARTBEAT not in run.tags:
            return False
        if run.asset_selection:
            return any(key.path[0] == names.key_prefix for key in run.asset_selection)
        return run.job_name.startswith(IMPLICIT_ASSET_JOB)

    @sensor(
        name=f"{names.sensor_prefix}detect_crashed_scans",
        job=job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks a running scan whose heartbeat is older than HUBSPOT_DEALS_CRASH_"
        "TIMEOUT_SECONDS as failed (its worker died: UNEXPECTED_TERMINATION), so that Dagster's "
        "run retries or the resume_failed_scans sensor resume it from its checkpoint.",
    )
    def detect_crashed_scans(context: SensorEvaluationContext) -> SkipReason:
        instance = context.instance
        timeout = get_settings().crash_timeout_seconds
        now = datetime.now(UTC).timestamp()
        records = [
            r
            for r in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
            if is_scan_run(r.dagster_run)
        ]
        crashed = []
        waiting = runs_waiting_for_writer(instance)  # queued for DuckDB's writer slot, not dead
        for record in records:
            run = record.dagster_run
            if run.run_id in waiting:
                continue
            if not has_crashed(run.tags, record.start_time, now, timeout):
                continue
            age = heartbeat_age(run.tags, record.start_time, now) or 0.0
            instance.report_run_failed(
                run,
                message=f"No heartbeat from scan {run.tags.get(Tag.PARTITION)} for {int(age)} s "
                f"(over {timeout} s): its run worker has died",
                job_failure_data=JobFailureData(
                    error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION
                ),
            )
            crashed.append(run.run_id)
        if crashed:
            return SkipReason(f"marked {len(crashed)} crashed run(s) failed: {', '.join(crashed)}")
        return SkipReason(
            f"{len(records)} running scan(s), none without a heartbeat for {timeout} s"
        )

    return detect_crashed_scans


resume_failed_scans = build_resume_sensor()
detect_crashed_scans = build_crash_sensor()


@sensor(
    name="duckdb_writer_pool",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="With the DuckDB destination, keeps the Dagster pool hubspot_deals/duckdb_writer "
    "(the scan op and deals_current) at one slot, since DuckDB lets one process write its file, "
    "and frees the slots of runs that ended without freeing them (a killed worker).",
)
def duckdb_writer_pool(context: SensorEvaluationContext) -> SkipReason:
    pool = writer_pool()
    if pool is None:
        return SkipReason("PostgreSQL destination: writers run concurrently, no pool")
    changed, freed = keep_writer_pool(context.instance)
    done = [f"limit of {pool} set to 1"] if changed else []
    if freed:
        done.append(f"freed the slots of ended runs {', '.join(freed)}")
    return SkipReason("; ".join(done) or f"{pool} has one slot, held by no ended run")
