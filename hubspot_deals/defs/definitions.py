"""The single wiring point of the code location."""

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from hubspot_deals.defs.assets.current import deals_current
from hubspot_deals.defs.assets.scan import hubspot_scan
from hubspot_deals.defs.assets.summary import deal_summary
from hubspot_deals.defs.checks import scan_checks
from hubspot_deals.defs.jobs import deals_current_job, scan_job
from hubspot_deals.defs.property_sync import (
    property_assets,
    property_checks,
    property_drift_schedule,
    property_sync_job,
)
from hubspot_deals.defs.resources import HubSpotResource, ScanDestination
from hubspot_deals.defs.schedules import build_scan_schedules
from hubspot_deals.defs.sensors import (
    build_change_sensor,
    deals_current_on_scan_success,
    detect_crashed_scans,
    duckdb_writer_pool,
    resume_failed_scans,
)
from hubspot_deals.organizations import load_organizations
from hubspot_deals.source.memory import make_this_process_lean

# Code servers and run workers: freed Arrow and malloc memory goes back to the system.
make_this_process_lean()
organizations = load_organizations()

defs = Definitions(
    assets=[hubspot_scan, deal_summary, deals_current, *property_assets],
    asset_checks=[*scan_checks, *property_checks],
    jobs=[scan_job, deals_current_job, property_sync_job],
    schedules=[*build_scan_schedules(organizations), property_drift_schedule],
    sensors=[
        deals_current_on_scan_success,
        build_change_sensor(organizations),
        resume_failed_scans,
        detect_crashed_scans,
        duckdb_writer_pool,
    ],
    resources={
        "dlt": DagsterDltResource(),
        "hubspot": HubSpotResource(),
        "destination": ScanDestination(),
    },
)
