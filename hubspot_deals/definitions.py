"""The single wiring point of the code location."""

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from hubspot_deals.assets.scan import hubspot_scan
from hubspot_deals.jobs import scan_job
from hubspot_deals.resources import HubSpotResource, ScanDestination

defs = Definitions(
    assets=[hubspot_scan],
    jobs=[scan_job],
    resources={
        "dlt": DagsterDltResource(),
        "hubspot": HubSpotResource(),
        "destination": ScanDestination(),
    },
)
