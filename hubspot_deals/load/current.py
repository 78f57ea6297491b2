"""The current state of an organization's deals, built from its scans inside the destination.

The base is the organization's newest completed full scan that read every property with no
date range; every later completed scan of the organization (incremental or filtered) is laid
over it in the order the scans began, the newest row of each deal winning. A deal archived
since carries `archived` and `archived_at` from the scan that saw it archived.

Which scans are layers is Dagster's knowledge (`hubspot_deals.defs.assets.current`); this module
only writes the table from the layers it is given.
"""

from dataclasses import dataclass
from datetime import datetime

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from hubspot_deals.load.names import CURRENT_TABLE
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN


@dataclass(frozen=True)
class ScanLayer:
    scan_id: str
    started_at: datetime
    scan_type: str
    complete_base: bool  # full, all properties, no date range


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
                f"DELETE FROM {current} WHERE {ORGANIZATION_ID_COLUMN} = %s", organization_id
            )
            if layers:
                names = ", ".join(f'"{c}"' for c in columns)
                order = ", ".join(f"(%s, {i})" for i in range(len(layers)))
                client.execute_sql(
                    f"INSERT INTO {current} ({names}) SELECT {names} FROM ("
                    f"SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.id ORDER BY o.ord DESC) AS _rn "
                    f"FROM {deals} d JOIN (VALUES {order}) AS o(scan_id, ord) "
                    f"ON d.{SCAN_ID_COLUMN} = o.scan_id) ranked WHERE _rn = 1",
                    *[layer.scan_id for layer in layers],
                )
        rows = client.execute_sql(
            f"SELECT count(*) FROM {current} WHERE {ORGANIZATION_ID_COLUMN} = %s", organization_id
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
