"""`hubspot/deals_current`: per organization, the latest state of every deal across its scans."""

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from hubspot_deals.assets.scan import ASSET_OWNER
from hubspot_deals.current import organization_layers, rebuild_current_deals
from hubspot_deals.destination import make_pipeline, when_destination_free
from hubspot_deals.partitions import organizations_partitions
from hubspot_deals.writer_pool import writer_pool


@asset(
    key=AssetKey(["hubspot", "deals_current"]),
    deps=[AssetDep(AssetKey(["hubspot", "deals"]), partition_mapping=AllPartitionMapping())],
    partitions_def=organizations_partitions,
    group_name="hubspot",
    kinds={"hubspot", "sql"},
    owners=[ASSET_OWNER],
    pool=writer_pool(),
    description="One row per deal of the organization: its latest state across the "
    "organization's scans (the newest full scan, with every later scan laid over it). Archived "
    "deals stay, flagged with `archived` and `archived_at`. Rebuilt when a scan completes.",
)
def deals_current(context: AssetExecutionContext) -> MaterializeResult:
    organization_id = context.partition_key
    layers = organization_layers(context.instance, organization_id)
    pipeline = make_pipeline("hubspot_deals_current")
    # The rebuild is one transaction: after a busy file (the API reading, a scan's summary) it
    # is simply run again.
    rows = when_destination_free(
        lambda: rebuild_current_deals(pipeline, organization_id, layers), context.log.warning
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "scans": MetadataValue.json(
                [
                    {
                        "scan_id": s.scan_id,
                        "scan_type": s.scan_type,
                        "started_at": s.started_at.isoformat(),
                    }
                    for s in layers
                ]
            ),  # fmt: skip
            "base_scan": layers[0].scan_id if layers else None,
        }
    )
