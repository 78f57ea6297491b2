"""The asset factory: one HubSpot portal's scan assets, checks, summary, partitions, job and
sensors.

    defs = dg.Definitions.merge(
        hubspot_assets(key_prefix="hubspot_eu", organization="acme-eu",
                       hubspot=HubSpotResource(access_token_env="HUBSPOT_EU_TOKEN"),
                       destination=ScanDestination(duckdb_path="eu.duckdb")),
        hubspot_assets(key_prefix="hubspot_us", organization="acme-us", ...),
    )

Every name an instance gives Dagster derives from its key prefix (`hubspot_deals.defs.names`),
so instances load side by side. Importing or calling the factory changes nothing in the host's
process: the scan's allocator settings and dlt's load defaults are applied by the run worker
when a scan runs (`hubspot_deals.defs.assets.scan`), and by the reader process it starts.

The project's own code location (`definitions.py`) is built by this factory too, with the scan
contract's names (`CONTRACT_NAMES`): asset keys `hubspot/...`, `scan_job`, op `hubspot_scan`,
partitions `scans`, the resource keys `hubspot`, `destination` and `dlt`.
"""

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from hubspot_deals.defs.assets.scan import build_scan_assets
from hubspot_deals.defs.assets.summary import build_deal_summary
from hubspot_deals.defs.checks import build_scan_checks
from hubspot_deals.defs.jobs import scan_job_for
from hubspot_deals.defs.names import HubSpotNames
from hubspot_deals.defs.resources import HubSpotResource, ScanDestination
from hubspot_deals.defs.sensors import build_crash_sensor, build_resume_sensor


def hubspot_assets(
    key_prefix: str = "hubspot",
    organization: str | None = None,
    destination: ScanDestination | None = None,
    hubspot: HubSpotResource | None = None,
    names: HubSpotNames | None = None,
    sensors: bool = True,
) -> Definitions:
    """The definitions of one HubSpot portal, every name derived from `key_prefix`.

    - `organization`: the organization id its scans' rows and runs carry (run config and run
      tags may still name another); defaults to HUBSPOT_DEALS_DEFAULT_ORGANIZATION.
    - `destination`: where it loads (DuckDB file or PostgreSQL); each unset field comes from
      the environment. Two portals need two destinations.
    - `hubspot`: the API (base URL, the environment variable holding the portal's token).
    - `names`: every name given explicitly instead of derived (the project's own location).
    - `sensors`: with the instance's two sensors, `<prefix>_detect_crashed_scans` (a run whose
      heartbeat stopped is marked failed) and `<prefix>_resume_failed_scans` (a scan that
      failed for a transient cause resumes from its checkpoint).

    Returns the scan's multi-asset (one asset per HubSpot table), the deal summary, the deal
    checks, the scan job, the sensors and the instance's three resources.
    """
    names = names or HubSpotNames.for_prefix(key_prefix)
    destination = destination or ScanDestination()
    hubspot = hubspot or HubSpotResource()
    if organization is not None:
        hubspot = hubspot.model_copy(update={"organization_id": organization})
    scan = build_scan_assets(names, destination.settings())
    return Definitions(
        assets=[scan, build_deal_summary(names)],
        asset_checks=build_scan_checks(names),
        jobs=[scan_job_for(names, organization)],
        sensors=[
            build_crash_sensor(names, organization),
            build_resume_sensor(names, organization),
        ]
        if sensors
        else [],
        resources={
            names.dlt_resource: DagsterDltResource(),
            names.hubspot_resource: hubspot,
            names.destination_resource: destination,
        },
    )
