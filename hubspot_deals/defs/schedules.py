"""Schedules: a daily incremental scan of every organization in the organizations file."""

import re
from collections.abc import Sequence
from typing import Any

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from hubspot_deals.defs.jobs import scan_job
from hubspot_deals.defs.partitions import scans_partitions
from hubspot_deals.organizations import ScheduledOrganization
from hubspot_deals.scan import ScanRunConfig, Tag, scheduled_scan_id


def scheduled_scan_run_config(org: ScheduledOrganization) -> dict[str, Any]:
    """Run config of a scheduled or sensor-started incremental scan: the token stays in the
    environment variable the organizations file names."""
    return ScanRunConfig(
        organization_id=org.id,
        scan_type="incremental",
        properties=tuple(org.properties) if org.properties else None,
        access_token_env=org.token_env,
    ).run_config()


def scheduled_scan_request(
    org: ScheduledOrganization, scan_id: str, run_key: str, trigger: str
) -> RunRequest:
    """The run request of a schedule's or sensor's incremental scan of an organization."""
    return RunRequest(
        run_key=run_key,
        partition_key=scan_id,
        run_config=scheduled_scan_run_config(org),
        tags={Tag.ORGANIZATION: org.id, Tag.SCAN_TYPE: "incremental", Tag.TRIGGER: trigger},
    )


def schedule_name(organization_id: str) -> str:
    return "incremental_scan_" + re.sub(r"[^A-Za-z0-9_]", "_", organization_id)


def build_scan_schedule(org: ScheduledOrganization) -> ScheduleDefinition:
    @schedule(
        name=schedule_name(org.id),
        cron_schedule=org.cron,
        job=scan_job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Incremental scan of {org.id} (token from ${org.token_env}).",
    )
    def _scan_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        def taken(scan_id: str) -> bool:
            return context.instance.has_dynamic_partition(scans_partitions.name, scan_id)

        scan_id = scheduled_scan_id(org.id, context.scheduled_execution_time, taken)
        context.instance.add_dynamic_partitions(scans_partitions.name, [scan_id])
        return scheduled_scan_request(org, scan_id, run_key=scan_id, trigger="schedule")

    return _scan_schedule


def build_scan_schedules(orgs: Sequence[ScheduledOrganization]) -> list[ScheduleDefinition]:
    return [build_scan_schedule(org) for org in orgs]
