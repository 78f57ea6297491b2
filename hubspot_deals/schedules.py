"""Schedules: a daily incremental scan of every organization in the organizations file."""

import re
from collections.abc import Sequence

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from hubspot_deals.jobs import scan_job
from hubspot_deals.launch import scheduled_scan_request
from hubspot_deals.organizations import ScheduledOrganization
from hubspot_deals.partitions import scans_partitions


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
        when = context.scheduled_execution_time
        scan_id = f"{org.id}-{when:%Y-%m-%d}"
        if context.instance.has_dynamic_partition(scans_partitions.name, scan_id):
            scan_id = f"{org.id}-{when:%Y-%m-%d-%H%M%S}"  # more than one tick that day
        context.instance.add_dynamic_partitions(scans_partitions.name, [scan_id])
        return scheduled_scan_request(org, scan_id, run_key=scan_id, trigger="schedule")

    return _scan_schedule


def build_scan_schedules(orgs: Sequence[ScheduledOrganization]) -> list[ScheduleDefinition]:
    return [build_scan_schedule(org) for org in orgs]
