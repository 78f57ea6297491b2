"""The single wiring point of the code location: the scan's definitions from the asset factory,
under the scan contract's names (with its crash and resume sensors), plus what only this
location runs (`deals_current`, the schedules and change sensor of the organizations file,
DuckDB's writer pool, the property definitions' sync).

Importing it changes nothing process-wide: the allocator tuning of a scan's process is applied
by the scan when it runs (`hubspot_deals.defs.assets.scan`), not here."""

from dagster import Definitions

from hubspot_deals.defs.assets.current import deals_current
from hubspot_deals.defs.factory import hubspot_assets
from hubspot_deals.defs.jobs import deals_current_job
from hubspot_deals.defs.names import CONTRACT_NAMES
from hubspot_deals.defs.property_sync import (
    property_assets,
    property_checks,
    property_drift_schedule,
    property_sync_job,
)
from hubspot_deals.defs.schedules import build_scan_schedules
from hubspot_deals.defs.sensors import (
    build_change_sensor,
    deals_current_on_scan_success,
    duckdb_writer_pool,
)
from hubspot_deals.organizations import load_organizations

organizations = load_organizations()

defs = Definitions.merge(
    hubspot_assets(names=CONTRACT_NAMES),
    Definitions(
        assets=[deals_current, *property_assets],
        asset_checks=property_checks,
        jobs=[deals_current_job, property_sync_job],
        schedules=[*build_scan_schedules(organizations), property_drift_schedule],
        sensors=[
            deals_current_on_scan_success,
            build_change_sensor(organizations),
            duckdb_writer_pool,
        ],
    ),
)
