"""`hubspot/deals_current`: per organization, the latest state of every deal across its scans."""

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    DagsterInstance,
    MaterializeResult,
    MetadataValue,
    asset,
)

from hubspot_deals.defs.assets.scan import ASSET_OWNER
from hubspot_deals.defs.partitions import organizations_partitions, scans_partitions
from hubspot_deals.defs.scan_history import completed_scans
from hubspot_deals.defs.writer_pool import writer_pool
from hubspot_deals.load.current import ScanLayer, rebuild_current_deals
from hubspot_deals.load.destination import make_pipeline, when_destination_free


def organization_layers(instance: DagsterInstance, organization_id: str) -> list[ScanLayer]:
    """The organization's scans that make up its current deals, oldest first."""
    seen: dict[str, ScanLayer | None] = {}
    for scan in completed_scans(instance, organization_id):  # newest run of each scan first
        if scan.scan_id in seen:
            continue
        usable = (
            instance.has_dynamic_partition(scans_partitions.name, scan.scan_id)  # not removed
            and scan.filters.get("properties") == "all"  # a subset would blank other columns
        )
        seen[scan.scan_id] = (
            ScanLayer(
                scan_id=scan.scan_id,
                started_at=scan.started_at,
                scan_type=scan.scan_type,
                complete_base=scan.scan_type == "full" and not scan.narrowed,
            )
            if usable
            else None
        )
    layers = sorted((layer for layer in seen.values() if layer), key=lambda x: x.started_at)
    bases = [i for i, layer in enumerate(layers) if layer.complete_base]
    return layers[bases[-1] :] if bases else layers


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
