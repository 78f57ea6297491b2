"""Jobs: a scan job materializes every HubSpot table of one scan partition."""

from dagster import AssetSelection, define_asset_job

from hubspot_deals.assets.scan import hubspot_scan

scan_job = define_asset_job(
    "scan_job",
    selection=AssetSelection.assets(hubspot_scan),
    description="Extract one scan (a `scans` partition) of HubSpot deals, owners, pipelines and "
    "properties into the destination.",
)
