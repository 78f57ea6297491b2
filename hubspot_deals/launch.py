"""Runs a scan through Dagster from Python: adds the partition, then executes the scan job."""

import logging
import time
from dataclasses import dataclass
from typing import Any

from dagster import DagsterInstance, RunRequest

from hubspot_deals import tags
from hubspot_deals.assets import DEALS_KEY
from hubspot_deals.assets.scan import SCAN_OP_NAME
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.organizations import ScheduledOrganization
from hubspot_deals.partitions import scans_partitions


@dataclass
class ScanOutcome:
    scan_id: str
    run_id: str
    success: bool
    seconds: float
    error: str | None
    deals_metadata: dict[str, Any]
    warnings: list[str]


def scan_run_config(
    organization_id: str,
    access_token: str | None = None,
    properties: list[str] | None = None,
    include_archived: bool = False,
    start_date: str | None = None,
    end_date: str | None = None,
    scan_type: str = "full",
    pipeline: str | None = None,
) -> dict[str, Any]:
    """Run config for scan_job; the token is encrypted, never placed in clear text."""
    config: dict[str, Any] = {
        "scan_type": scan_type,
        "organization_id": organization_id,
        "include_archived": include_archived,
    }
    if properties:
        config["properties"] = properties
    if start_date:
        config["start_date"] = start_date
    if end_date:
        config["end_date"] = end_date
    if pipeline:
        config["pipeline"] = pipeline
    if access_token:
        config["access_token_ciphertext"] = TokenCipher.from_settings().encrypt(access_token)
    return {"ops": {SCAN_OP_NAME: {"config": config}}}


def scheduled_scan_run_config(org: ScheduledOrganization) -> dict[str, Any]:
    """Run config of a scheduled or sensor-started incremental scan: the token stays in the
    environment variable the organizations file names."""
    config: dict[str, Any] = {
        "scan_type": "incremental",
        "organization_id": org.id,
        "include_archived": False,
        "access_token_env": org.token_env,
    }
    if org.properties:
        config["properties"] = org.properties
    return {"ops": {SCAN_OP_NAME: {"config": config}}}


def scheduled_scan_request(
    org: ScheduledOrganization, scan_id: str, run_key: str, trigger: str
) -> RunRequest:
    """The run request of a schedule's or sensor's incremental scan of an organization."""
    return RunRequest(
        run_key=run_key,
        partition_key=scan_id,
        run_config=scheduled_scan_run_config(org),
        tags={tags.ORGANIZATION: org.id, tags.SCAN_TYPE: "incremental", tags.TRIGGER: trigger},
    )


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
    from hubspot_deals.definitions import defs

    scan_config = run_config["ops"][SCAN_OP_NAME]["config"]
    organization_id = scan_config.get("organization_id", "")
    scan_type = scan_config.get("scan_type", "full")
    if not instance.has_dynamic_partition(scans_partitions.name, scan_id):
        instance.add_dynamic_partitions(scans_partitions.name, [scan_id])
    job = defs.resolve_job_def("scan_job")
    started = time.monotonic()
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        partition_key=scan_id,
        tags={tags.ORGANIZATION: organization_id, tags.SCAN_TYPE: scan_type},
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
    """The readable cause of a failed run: a Failure's description, else the innermost error."""
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        err = data.error
        while err is not None and err.cause is not None:
            err = err.cause
        if err is not None:
            return err.message.strip()
    return "the scan run failed"
