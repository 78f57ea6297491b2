"""Sensors: keep `deals_current` up to date as scans complete."""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SkipReason,
    run_status_sensor,
)

from hubspot_deals import tags
from hubspot_deals.jobs import deals_current_job, scan_job
from hubspot_deals.partitions import organizations_partitions


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[scan_job],
    request_job=deals_current_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="When a scan completes, rebuilds its organization's deals_current.",
)
def deals_current_on_scan_success(context: RunStatusSensorContext) -> RunRequest | SkipReason:
    organization_id = context.dagster_run.tags.get(tags.ORGANIZATION)
    if not organization_id:
        return SkipReason(f"run {context.dagster_run.run_id} has no organization tag")
    if not context.instance.has_dynamic_partition(organizations_partitions.name, organization_id):
        context.instance.add_dynamic_partitions(organizations_partitions.name, [organization_id])
    return RunRequest(
        run_key=f"current-{context.dagster_run.run_id}",
        partition_key=organization_id,
        tags={tags.ORGANIZATION: organization_id},
    )
