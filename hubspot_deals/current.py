"""The current state of an organization's deals, built from its scans inside the destination.

The base is the organization's newest completed full scan that read every property with no
date range; every later completed scan of the organization (incremental or filtered) is laid
over it in the order the scans began, the newest row of each deal winning. A deal archived
since carries `archived` and `archived_at` from the scan that saw it archived.
"""

from dataclasses import dataclass
from datetime import datetime

import dlt
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from hubspot_deals import tags
from hubspot_deals.partitions import scans_partitions

DEALS_KEY = AssetKey(["hubspot", "deals"])
CURRENT_TABLE = "deals_current"


@dataclass(frozen=True)
class ScanLayer:
    scan_id: str
    started_at: datetime
    scan_type: str
    complete_base: bool  # full, all properties, no date range


def organization_layers(instance: DagsterInstance, organization_id: str) -> list[ScanLayer]:
    """The organization's scans that make up its current deals, oldest first."""
    records = instance.get_run_records(
        RunsFilter(tags={tags.ORGANIZATION: organization_id}, statuses=[DagsterRunStatus.SUCCESS])
    )
    seen: dict[str, ScanLayer] = {}
    for record in records:  # newest first
        run = record.dagster_run
        scan_id = run.tags.get(tags.PARTITION)
        if not scan_id or scan_id in seen:
            continue
        if not instance.has_dynamic_partition(scans_partitions.name, scan_id):
            continue  # removed scans no longer count
        for event in instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records:
            mat = event.event_log_entry.asset_materialization
            if mat is None or mat.asset_key != DEALS_KEY or "scan_started_at" not in mat.metadata:
                continue
            meta = {k: v.value for k, v in mat.metadata.items()}
            filters = meta.get("filters") or {}
            if filters.get("properties") != "all":
                break  # a property subset would blank the other columns
            seen[scan_id] = ScanLayer(
                scan_id=scan_id,
                started_at=datetime.fromisoformat(str(meta["scan_started_at"])),
                scan_type=str(meta.get("scan_type", "full")),
                complete_base=meta.get("scan_type", "full") == "full"
                and not filters.get("start_date")
                and not filters.get("end_date"),
            )
            break
    layers = sorted(seen.values(), key=lambda layer: layer.started_at)
    bases = [i for i, layer in enumerate(layers) if layer.complete_base]
    return layers[bases[-1] :] if bases else layers


def rebuild_current_deals(
    pipeline: dlt.Pipeline, organization_id: str, layers: list[ScanLayer]
) -> int:
    """Replaces the organization's rows of `deals_current`; returns how many it now has."""
    with pipeline.sql_client() as client:
        deals = client.make_qualified_table_name("deals")
        current = client.make_qualified_table_name(CURRENT_TABLE)
        try:
            columns = _columns(client, "deals")
        except DatabaseUndefinedRelation:
            return 0
        if not columns:
            return 0
        present = _columns(client, CURRENT_TABLE)
        with client.begin_transaction():
            if not present:
                client.execute_sql(f"CREATE TABLE {current} AS SELECT * FROM {deals} WHERE 1 = 0")
            else:
                for name, dtype in columns.items():
                    if name not in present:
                        client.execute_sql(f'ALTER TABLE {current} ADD COLUMN "{name}" {dtype}')
            client.execute_sql(
                f"DELETE FROM {current} WHERE _organization_id = %s", organization_id
            )
            if layers:
                names = ", ".join(f'"{c}"' for c in columns)
                order = ", ".join(f"(%s, {i})" for i in range(len(layers)))
                client.execute_sql(
                    f"INSERT INTO {current} ({names}) SELECT {names} FROM ("
                    f"SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.id ORDER BY o.ord DESC) AS _rn "
                    f"FROM {deals} d JOIN (VALUES {order}) AS o(scan_id, ord) "
                    f"ON d._scan_id = o.scan_id) ranked WHERE _rn = 1",
                    *[layer.scan_id for layer in layers],
                )
        rows = client.execute_sql(
            f"SELECT count(*) FROM {current} WHERE _organization_id = %s", organization_id
        )
        return int(rows[0][0])


def _columns(client: object, table: str) -> dict[str, str]:
    rows = client.execute_sql(  # type: ignore[attr-defined]
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        client.dataset_name,  # type: ignore[attr-defined]
        table,
    )
    return {name: dtype for name, dtype in rows or []}
