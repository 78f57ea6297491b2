"""Runs a scan through Dagster from Python: adds the partition, then executes the scan job.

A client of the code location (the CLI, tests, benchmarks), as the REST shim is one over GraphQL:
nothing of the code location imports this module, so it may import the wired definitions.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from dagster import DagsterInstance

from hubspot_deals.defs.assets import DEALS_KEY
from hubspot_deals.defs.definitions import defs
from hubspot_deals.defs.partitions import scans_partitions
from hubspot_deals.run_failure import StepError, StepFailure, step_cause
from hubspot_deals.scan import SCAN_JOB_NAME, ScanRunConfig, Tag


@dataclass
class ScanOutcome:
    scan_id: str
    run_id: str
    success: bool
    seconds: float
    error: str | None
    deals_metadata: dict[str, Any]
    warnings: list[str]


def execute_scan(
    instance: DagsterInstance,
    scan_id: str,
    run_config: dict[str, Any],
    console_log_level: str = "WARNING",
) -> ScanOutcome:
    """Executes scan_job for one scan in this process, recorded in `instance`.

    The console shows warnings and errors only (`console_log_level`); the full event log is in
    the instance, and the outcome carries the run's warnings and its failure's cause.
    """
    run_config = {
        **run_config,
        "loggers": {"console": {"config": {"log_level": console_log_level}}},
    }
    scan = ScanRunConfig.from_run_config(run_config)
    if not instance.has_dynamic_partition(scans_partitions.name, scan_id):
        instance.add_dynamic_partitions(scans_partitions.name, [scan_id])
    job = defs.resolve_job_def(SCAN_JOB_NAME)
    started = time.monotonic()
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        partition_key=scan_id,
        tags={Tag.ORGANIZATION: scan.organization_id or "", Tag.SCAN_TYPE: scan.scan_type},
        raise_on_error=False,
    )
    error = None
    if not result.success:
        error = _failure_message(result.all_events)
    return ScanOutcome(
        scan_id,
        result.run_id,
        result.success,
        time.monotonic() - started,
        error,
        _deals_metadata(result.all_events),
        [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.WARNING and entry.user_message
        ],
    )


def _deals_metadata(events: list[Any]) -> dict[str, Any]:
    """The deals materialization's metadata as plain values."""
    for event in events:
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            if mat.asset_key == DEALS_KEY:
                return {k: v.value for k, v in mat.metadata.items()}
    return {}


def _failure_message(events: list[Any]) -> str:
    """The readable cause of a failed run, read by the shim's rule
    (`hubspot_deals.run_failure.step_cause`): a Failure's description, else the innermost
    error."""
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        errors = []
        err = data.error
        while err is not None:
            errors.append(StepError(err.cls_name, err.message))
            err = err.cause
        user = data.user_failure_data
        cause = step_cause(StepFailure(errors, user.description if user else None))
        if cause:
            return cause
    return "the scan run failed"
