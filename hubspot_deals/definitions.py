"""The single wiring point of the code location."""

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from hubspot_deals.assets.scan import hubspot_scan
from hubspot_deals.assets.summary import deal_summary
from hubspot_deals.checks import scan_checks
from hubspot_deals.jobs import scan_job
from hubspot_deals.resources import HubSpotResource, ScanDestination

defs = Definitions(
    assets=[hubspot_scan, deal_summary],
    asset_checks=scan_checks,
    jobs=[scan_job],
    resources={
        "dlt": DagsterDltResource(),
        "hubspot": HubSpotResource(),
        "destination": ScanDestination(),
    },
)
