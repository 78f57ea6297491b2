"""The current state of an organization's deals, built from its scans inside the destination.

The base is the organization's newest completed full scan that read every property with no
date range; every later completed scan of the organization (incremental or filtered) is laid
over it in the order the scans began, the newest row of each deal winning. A deal archived
since carries `archived` and `archived_at` from the scan that saw it archived.
"""

from dataclasses import dataclass
from datetime import datetime

import dlt
from dagster import DagsterInstance
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from hubspot_deals.partitions import scans_partitions
from hubspot_deals.scan_history import completed_scans

CURRENT_TABLE = "deals_current"


@dataclass(frozen=True)
class ScanLayer:
    scan_id: str
    started_at: datetime
    scan_type: str
    complete_base: bool  # full, all properties, no date range


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
