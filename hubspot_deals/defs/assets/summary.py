"""`hubspot/deal_summary`: per scan, the value and counts of its deals, by pipeline and stage.

`build_deal_summary` makes it for one instance's names (`<prefix>/deal_summary`)."""

import json
from datetime import UTC, datetime

import dlt
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from hubspot_deals.defs.assets.scan import ASSET_OWNER
from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames
from hubspot_deals.defs.partitions import scans_partitions_for
from hubspot_deals.defs.resources import ScanDestination
from hubspot_deals.load.destination import when_destination_free
from hubspot_deals.load.reads import DestinationReader
from hubspot_deals.load.summary import deal_summary as compute_summary
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN, Tag


def build_deal_summary(names: HubSpotNames = CONTRACT_NAMES) -> AssetsDefinition:
    """The summary asset of one instance, after its deals, on its destination resource."""

    @asset(
        name="deal_summary",
        key_prefix=[names.key_prefix],
        deps=[names.deals_key],
        partitions_def=scans_partitions_for(names),
        group_name=names.key_prefix,
        kinds={"hubspot", "python"},
        owners=[ASSET_OWNER],
        required_resource_keys={names.destination_resource},
        description="Per scan: total, average, minimum and maximum amount of its live deals, and "
        "their counts by pipeline and by stage (table `deal_summary`, one row per scan).",
    )
    def deal_summary(context: AssetExecutionContext) -> MaterializeResult:
        destination = getattr(context.resources, names.destination_resource)
        return summarize_scan(context, destination)

    return deal_summary


def summarize_scan(
    context: AssetExecutionContext, destination: ScanDestination
) -> MaterializeResult:
    scan_id = context.partition_key
    # Reads and the load wait out an unavailable destination, as the scan's own steps do.
    settings = destination.settings()
    figures = when_destination_free(
        lambda: compute_summary(DestinationReader(settings), scan_id), context.log.warning
    )
    row = {
        SCAN_ID_COLUMN: scan_id,
        ORGANIZATION_ID_COLUMN: context.run.tags.get(Tag.ORGANIZATION, ""),
        **{k: v for k, v in figures.items() if k not in ("pipelines", "stages")},
        "pipelines": json.dumps(figures["pipelines"]),
        "stages": json.dumps(figures["stages"]),
        "computed_at": datetime.now(UTC),
    }
    pipeline = destination.pipeline_for_scan(scan_id)
    summary_row = dlt.resource(
        [row],
        name="deal_summary",
        write_disposition="merge",
        primary_key=SCAN_ID_COLUMN,
        columns={
            "pipelines": {"data_type": "json"},
            "stages": {"data_type": "json"},
            "total_value": {"data_type": "double"},
            "avg_deal_value": {"data_type": "double", "nullable": True},
            "min_value": {"data_type": "double", "nullable": True},
            "max_value": {"data_type": "double", "nullable": True},
        },
    )
    # A load cut part-way stays pending in the pipeline: the next try finishes it.
    when_destination_free(
        lambda: pipeline.run() if pipeline.has_pending_data else pipeline.run(summary_row),
        context.log.warning,
    )
    return MaterializeResult(
        metadata={
            "total_deals": figures["total_deals"],
            "archived_deals": figures["archived_deals"],
            "total_value": figures["total_value"],
            "avg_deal_value": figures["avg_deal_value"],
            "min_value": figures["min_value"],
            "max_value": figures["max_value"],
            "pipelines": MetadataValue.json(figures["pipelines"]),
            "stages": MetadataValue.json(figures["stages"]),
            "dagster/row_count": 1,
            "dagster/column_schema": TableSchema(
                columns=[
                    TableColumn(SCAN_ID_COLUMN, "text"),
                    TableColumn("total_deals", "bigint"),
                    TableColumn("total_value", "double"),
                    TableColumn("avg_deal_value", "double"),
                    TableColumn("min_value", "double"),
                    TableColumn("max_value", "double"),
                    TableColumn("pipelines", "json"),
                    TableColumn("stages", "json"),
                ]
            ),
        }
    )
