"""Jobs: a scan job materializes every HubSpot table of one scan partition."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from hubspot_deals.defs.assets.current import deals_current
from hubspot_deals.defs.assets.scan import hubspot_scan
from hubspot_deals.defs.assets.summary import deal_summary
from hubspot_deals.scan import SCAN_JOB_NAME

scan_job = define_asset_job(
    SCAN_JOB_NAME,
    selection=AssetSelection.assets(hubspot_scan, deal_summary),
    # The scan, its checks and its summary in the run's own process: a process per step would
    # cost each a Python start-up and its imports, longer than the checks themselves.
    executor_def=in_process_executor,
    description="Extract one scan (a `scans` partition) of HubSpot deals, owners, pipelines and "
    "properties into the destination, check its deals, and summarize them.",
)

deals_current_job = define_asset_job(
    "deals_current_job",
    selection=AssetSelection.assets(deals_current),
    executor_def=in_process_executor,
    description="Rebuild one organization's deals_current from its scans.",
)
