"""`hubspot/deal_summary`: per scan, the value and counts of its deals, by pipeline and stage."""

import json
from datetime import UTC, datetime

import dlt
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from hubspot_deals.assets.scan import ASSET_OWNER, when_destination_free
from hubspot_deals.partitions import scans_partitions
from hubspot_deals.resources import ScanDestination
from hubspot_deals.results import DestinationReader
from hubspot_deals.summary import deal_summary as compute_summary


@asset(
    key=AssetKey(["hubspot", "deal_summary"]),
    deps=[AssetKey(["hubspot", "deals"])],
    partitions_def=scans_partitions,
    group_name="hubspot",
    kinds={"hubspot", "python"},
    owners=[ASSET_OWNER],
    description="Per scan: total, average, minimum and maximum amount of its live deals, and "
    "their counts by pipeline and by stage (table `deal_summary`, one row per scan).",
)
def deal_summary(context: AssetExecutionContext, destination: ScanDestination) -> MaterializeResult:
    scan_id = context.partition_key
    organization_id = context.run.tags.get("hubspot_deals/organization_id", "")
    pipeline = destination.pipeline_for_scan(scan_id)

    def summarize() -> dict:
        figures = compute_summary(DestinationReader(), scan_id)
        row = {
            "_scan_id": scan_id,
            "_organization_id": organization_id,
            **{k: v for k, v in figures.items() if k not in ("pipelines", "stages")},
            "pipelines": json.dumps(figures["pipelines"]),
            "stages": json.dumps(figures["stages"]),
            "computed_at": datetime.now(UTC),
        }
        if pipeline.has_pending_data:  # a row normalized before the file turned out busy
            pipeline.run().raise_on_failed_jobs()
        else:
            pipeline.run(
                dlt.resource(
                    [row],
                    name="deal_summary",
                    write_disposition="merge",
                    primary_key="_scan_id",
                    columns={
                        "pipelines": {"data_type": "json"},
                        "stages": {"data_type": "json"},
                        "total_value": {"data_type": "double"},
                        "avg_deal_value": {"data_type": "double", "nullable": True},
                        "min_value": {"data_type": "double", "nullable": True},
                        "max_value": {"data_type": "double", "nullable": True},
                    },
                )
            ).raise_on_failed_jobs()
        return figures

    # Another process (a scan of another organization, the API's read) may have the DuckDB file.
    figures = when_destination_free(summarize, context)
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
                    TableColumn("_scan_id", "text"),
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
