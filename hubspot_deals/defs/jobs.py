"""Jobs: a scan job materializes every HubSpot table of one scan partition."""

import functools

from dagster import AssetSelection, define_asset_job, in_process_executor
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames
from hubspot_deals.scan import Tag
from hubspot_deals.source.crm import hubspot_deals_source


def scan_job_for(
    names: HubSpotNames, organization_id: str | None = None
) -> UnresolvedAssetJobDefinition:
    """One instance's scan job: its scan's tables and its summary (and so their checks).

    Built once per instance, so that the schedules and sensors that target it and the
    definitions that list it hold the same job (Dagster refuses two jobs of one name)."""
    return _scan_job(names, organization_id)


@functools.cache
def _scan_job(names: HubSpotNames, organization_id: str | None) -> UnresolvedAssetJobDefinition:
    tables = [names.key(name) for name in hubspot_deals_source().resources]
    return define_asset_job(
        names.scan_job,
        selection=AssetSelection.assets(*tables, names.summary_key),
        # The scan, its checks and its summary in the run's own process: a process per step
        # would cost each a Python start-up and its imports, longer than the checks themselves.
        executor_def=in_process_executor,
        # An instance for one portal tags its runs with the portal's organization: Dagster's
        # one-run-per-organization limit and the scan history find them by it.
        tags={Tag.ORGANIZATION: organization_id} if organization_id else None,
        description=f"Extract one scan (a `{names.scans_partitions}` partition) of HubSpot deals, "
        "owners, pipelines and properties into the destination, check its deals, and summarize "
        "them.",
    )


scan_job = scan_job_for(CONTRACT_NAMES)

deals_current_job = define_asset_job(
    "deals_current_job",
    selection=AssetSelection.assets(CONTRACT_NAMES.key("deals_current")),
    executor_def=in_process_executor,
    description="Rebuild one organization's deals_current from its scans.",
)
