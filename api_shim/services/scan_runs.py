"""A scan as Dagster sees it: the runs of its partition, mapped to the API's scan fields.

Status mapping (newest run of the partition decides):

    QUEUED, NOT_STARTED                 -> pending; resuming for a run that resumes another
                                           (hubspot_deals/resumed_from); see STARTING for marks
    STARTING, STARTED, MANAGED          -> running; resuming while the scan says it continues
                                           from a checkpoint (hubspot_deals/resuming), or, for
                                           runs without that tag, for a resume run or Dagster
                                           re-execution that has not reported progress yet;
                                           crashed when the heartbeat is older than the timeout;
                                           paused or cancelled while a run whose scan has not
                                           begun (no heartbeat since it started) has a pause or
                                           cancel mark naming it: the request Dagster could not
                                           carry out, which the run obeys when its scan begins
    SUCCESS                             -> completed
    FAILURE                             -> failed; crashed when the run worker or step process
                                           died (Dagster's failure reason, the step's error or
                                           the code server's report); resuming when Dagster's
                                           run retries will re-execute it (dagster/will_retry)
    CANCELING, CANCELED                 -> cancelled; paused or crashed when the scan's partition
                                           has a pause or crash mark naming the run
    SUSPENDED                           -> paused

Marks (`hubspot_deals.marks`) are runless observations of the scan's partition of the deals
asset, written by the REST API before it stops a run (pause, cancel, crash detection): Dagster's
own record of why a run was stopped, visible in the Dagster UI, with no second state store.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api_shim.dagster import DagsterRun, RunFailure
from api_shim.tenancy import public_scan_id
from hubspot_deals.marks import STOP_REQUESTS
from hubspot_deals.scan import (
    ACTIVE_RUN_STATUSES,
    CRASH_REASONS,
    STOPPED_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    UNTERMINABLE_RUN_STATUSES,
    ScanRunConfig,
    Tag,
    has_crashed,
    heartbeat_age,
    parse_timestamp,
)

# The spec's only scan `type`; the hubspot_deals/scan_type tag holds full/incremental instead.
API_SCAN_TYPE = "user"


def iso(timestamp: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with a `Z`, to the millisecond."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    spec = "seconds" if moment.microsecond == 0 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _int_tag(run: DagsterRun, key: str) -> int | None:
    try:
        return int(run.tags[key])
    except (KeyError, ValueError):
        return None


def silent_for(run: DagsterRun, now: float) -> float:
    """Seconds since the run last showed it was alive (`hubspot_deals.scan.heartbeat_age`)."""
    return heartbeat_age(run.tags, run.start_time or run.creation_time, now) or 0.0


def before_its_scan(run: DagsterRun) -> bool:
    """The run's scan has not begun: Dagster still starts the run, or it is STARTED but has not
    written a heartbeat since (heartbeats are whole seconds; a re-execution copies its parent's,
    older than its start). Such a run obeys a pause or cancel mark when its scan begins."""
    if run.status in UNTERMINABLE_RUN_STATUSES:
        return True
    if run.status != "STARTED":
        return False
    heartbeat = parse_timestamp(run.tags.get(Tag.HEARTBEAT))
    return heartbeat is None or heartbeat < int(run.start_time or run.creation_time)


def needs_mark(run: DagsterRun) -> bool:
    """Whether the run's status depends on a mark: it was stopped from outside, or its scan has
    not begun and may yet obey a stop request."""
    return run.status in STOPPED_RUN_STATUSES or before_its_scan(run)


def run_status(
    run: DagsterRun,
    failure: RunFailure | None,
    now: float,
    crash_timeout: float,
    mark: str | None = None,
) -> str:
    """The scan status one Dagster run stands for."""
    status = run.status
    resume_run = (
        run.parent_run_id is not None
        or run.tags.get(Tag.IS_RESUME_RETRY) == "true"
        or Tag.RESUMED_FROM in run.tags
    )
    if mark in STOP_REQUESTS and before_its_scan(run):
        return mark  # accepted, and carried out by the run itself when its scan begins
    if status in ("QUEUED", "NOT_STARTED"):
        return "resuming" if resume_run else "pending"
    if status in ("STARTING", "STARTED", "MANAGED"):
        heartbeat = parse_timestamp(run.tags.get(Tag.HEARTBEAT))
        started = run.start_time or run.creation_time
        if status == "STARTED" and has_crashed(run.tags, started, now, crash_timeout):
            return "crashed"
        resuming = run.tags.get(Tag.RESUMING)
        if resuming is not None:  # the scan says whether it is still catching up to a checkpoint
            return "resuming" if resuming == "true" else "running"
        if resume_run and (heartbeat is None or heartbeat < started):
            return "resuming"
        return "running"
    if status == "SUCCESS":
        return "completed"
    if status == "FAILURE":
        if run.tags.get(Tag.WILL_RETRY) == "true":
            return "resuming"  # Dagster's run retries are about to continue it
        crashed = run.tags.get(Tag.FAILURE_REASON) in CRASH_REASONS
        return "crashed" if crashed or (failure is not None and failure.crashed) else "failed"
    if status in STOPPED_RUN_STATUSES:
        return mark if mark in ("paused", "crashed") else "cancelled"
    if status == "SUSPENDED":
        return "paused"
    return "failed"


@dataclass
class ScanRuns:
    """All runs of one scan (partition), newest first."""

    partition: str  # the Dagster partition key: also the rows' `_scan_id`
    runs: list[DagsterRun]
    default_organization: str = "default"

    @property
    def scan_id(self) -> str:
        """The id clients know the scan by (`api_shim.tenancy`)."""
        return public_scan_id(self.partition, self.organization_id)

    @property
    def latest(self) -> DagsterRun:
        return self.runs[0]

    @property
    def first(self) -> DagsterRun:
        return self.runs[-1]

    @property
    def scan_config(self) -> ScanRunConfig:
        """The config the scan runs with (the latest run's; the ciphertext stays inside)."""
        return ScanRunConfig.from_run_config(self.latest.run_config)

    @property
    def organization_id(self) -> str:
        return (
            self.latest.tags.get(Tag.ORGANIZATION)
            or self.scan_config.organization_id
            or self.default_organization
        )

    @property
    def scan_kind(self) -> str:
        """`full` or `incremental`: the code location's kind of scan (not the API's `type`)."""
        return self.latest.tags.get(Tag.SCAN_TYPE) or self.scan_config.scan_type

    @property
    def is_active(self) -> bool:
        """Some run of the scan may still write (queued, running, or being cancelled)."""
        return any(r.status in ACTIVE_RUN_STATUSES for r in self.runs)

    @property
    def created_at(self) -> float:
        return self.first.creation_time

    @property
    def start_time(self) -> float | None:
        started = [r.start_time for r in self.runs if r.start_time]
        return min(started) if started else None

    @property
    def end_time(self) -> float | None:
        latest = self.latest
        return latest.end_time if latest.status in TERMINAL_RUN_STATUSES else None

    @property
    def finished_at(self) -> float | None:
        """When the scan finished: end of its newest run, if every run has finished."""
        if self.is_active:
            return None
        return self.latest.end_time or self.latest.update_time or self.latest.creation_time

    @property
    def records_extracted(self) -> int:
        return _int_tag(self.latest, Tag.RECORDS_EXTRACTED) or 0

    @property
    def expected_records(self) -> int | None:
        return _int_tag(self.latest, Tag.EXPECTED_RECORDS)

    @property
    def heartbeat(self) -> float | None:
        return parse_timestamp(self.latest.tags.get(Tag.HEARTBEAT))

    @property
    def checkpoint_at(self) -> float | None:
        return parse_timestamp(self.latest.tags.get(Tag.CHECKPOINT_AT))

    def latest_checkpoint(self) -> dict[str, Any]:
        """The checkpoint the scan last committed (cursor, deals, chunks) and its progress."""
        checkpoint: dict[str, Any] = {}
        try:
            published = json.loads(self.latest.tags.get(Tag.CHECKPOINT) or "{}")
        except ValueError:
            published = {}
        if isinstance(published, dict):
            checkpoint.update(published)
        checkpoint.update(
            recordsExtracted=self.records_extracted,
            expectedRecords=self.expected_records,
            runId=self.latest.run_id,
        )
        return checkpoint

    def status(
        self,
        failure: RunFailure | None,
        now: float,
        crash_timeout: float,
        mark: str | None = None,
    ) -> str:
        return run_status(self.latest, failure, now, crash_timeout, mark)

    def progress(self, status: str) -> float:
        if status == "completed":
            return 100.0
        expected = self.expected_records
        if not expected:
            return 0.0
        return round(min(100.0, 100.0 * self.records_extracted / expected), 1)

    def duration(self, now: float) -> float | None:
        start = self.start_time
        if start is None:
            return None
        end = self.end_time or now
        return round(max(0.0, end - start), 3)

    def config_echo(self) -> dict[str, Any]:
        """The scan's configuration as a client sent it, without the token."""
        config = self.scan_config
        start, end = config.start_date, config.end_date
        tenant = self.latest.tags.get(Tag.TENANT_URL)
        return {
            "scan_id": self.scan_id,
            "organization_id": self.organization_id,
            "type": [API_SCAN_TYPE],
            "auth": {"tennant_url": tenant} if tenant else None,
            "filters": {
                "properties": list(config.properties) if config.properties else None,
                "include_archived": config.include_archived,
                "date_range": ({"start_date": start, "end_date": end} if start or end else None),
            },
        }


def group_scans(
    runs: Sequence[DagsterRun], location: str, default_organization: str
) -> dict[str, ScanRuns]:
    """Runs of this code location that carry a scan partition, grouped by partition."""
    scans: dict[str, ScanRuns] = {}
    for run in runs:
        partition = run.tags.get(Tag.PARTITION)
        if not partition:
            continue
        if run.tags.get(Tag.CODE_LOCATION, location) != location:
            continue
        scan = scans.get(partition)
        if scan is None:
            scans[partition] = ScanRuns(partition, [run], default_organization)
        else:
            scan.runs.append(run)
    for scan in scans.values():
        scan.runs.sort(key=lambda r: r.creation_time, reverse=True)
    return scans
