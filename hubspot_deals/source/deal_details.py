"""A deal's world beyond its own properties: its associations with every label, and its stage
history. Both are read for the deals of each chunk the scan has just read (the `deals`
resource's tables), so they load and checkpoint with that chunk.

- Associations: `POST /crm/v4/associations/deals/{to}/batch/read`, up to 1,000 deal ids a
  request (HubSpot's documented batch size), paced on the association bucket of its own
  (`pacing.RateLimitBuckets.associations`). A deal with more than 500 associations of a type
  comes back with `paging.next.after` and is asked for again from there. The v4 shape carries
  every association type of a pair (a primary company is both "Primary", type 5, and unlabeled,
  341) and the custom labels, which the v3 inline `associations=` leaves out.
- Stage history: `POST /crm/v3/objects/deals/batch/read` with `propertiesWithHistory=dealstage`,
  50 deal ids a request (history lowers HubSpot's batch limit as it lowers the list's page to
  50), on the ten-secondly bucket. Each entry of the history is a stay in a stage: from its
  timestamp to the next entry's.

Archived deals get neither: HubSpot serves no associations of archived records.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import ARROW_TYPES, parse_hubspot_datetime
from hubspot_deals.source.errors import HubSpotRequestError
from hubspot_deals.source.objects import DEALS

ASSOCIATION_BATCH_INPUTS = 1_000
HISTORY_BATCH_INPUTS = 50
# HubSpot's label of the primary association (a deal's primary company), HUBSPOT_DEFINED.
PRIMARY_LABEL = "Primary"
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"

ASSOCIATION_COLUMNS = {
    "deal_id": "text",
    "to_object_type": "text",
    "to_object_id": "text",
    "association_type_id": "bigint",
    "category": "text",
    "label": "text",
    "is_primary": "bool",
    "_scan_chunk": "bigint",
}
STAGE_HISTORY_COLUMNS = {
    "deal_id": "text",
    "pipeline_id": "text",
    "stage_id": "text",
    "entered_at": "timestamp",
    "exited_at": "timestamp",
    "seconds_in_stage": "double",
    "source_type": "text",
    "source_id": "text",
    "updated_by_user_id": "bigint",
    "_scan_chunk": "bigint",
}
# Derived from the stage history, one row per deal and stage it has been in.
STAGE_TIME_COLUMNS = {
    "deal_id": "text",
    "pipeline_id": "text",
    "stage_id": "text",
    "times_entered": "bigint",
    "seconds_in_stage": "double",
    "first_entered_at": "timestamp",
    "last_entered_at": "timestamp",
    "last_exited_at": "timestamp",
    "is_current": "bool",
    "_scan_chunk": "bigint",
}


_ARROW = {**ARROW_TYPES, "bigint": pa.int64()}


def arrow_table(rows: list[dict[str, Any]], columns: dict[str, str]) -> pa.Table:
    """The rows as an Arrow table of `columns` (plus the scan's two): dlt loads Arrow without
    its row-by-row normalizer, which took a minute over 100,000 association rows."""
    names = [*columns, SCAN_ID_COLUMN, ORGANIZATION_ID_COLUMN]
    schema = pa.schema(
        [pa.field(n, _ARROW[t]) for n, t in columns.items()]
        + [pa.field(SCAN_ID_COLUMN, pa.string()), pa.field(ORGANIZATION_ID_COLUMN, pa.string())]
    )
    return pa.Table.from_pydict({n: [r[n] for r in rows] for n in names}, schema=schema)


def live_deals(table: pa.Table) -> list[tuple[str, int]]:
    """(deal id, chunk) of the live deals of one of the `deals` resource's tables."""
    ids = table.column("id").to_pylist()
    archived = table.column("archived").to_pylist()
    chunks = table.column("_scan_chunk").to_pylist()
    return [(d, c) for d, a, c in zip(ids, archived, chunks, strict=True) if not a]


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def association_rows(
    client: HubSpotClient, deals: Sequence[tuple[str, int]], to_object_type: str
) -> list[dict[str, Any]]:
    """One row per (deal, associated record, association type) of the deals' associations to
    `to_object_type`; `is_primary` marks every row of a deal's primary record."""
    chunk_of = dict(deals)
    path = f"/crm/v4/associations/{DEALS.object_type}/{to_object_type}/batch/read"
    rows: list[dict[str, Any]] = []
    for batch in _batches([d for d, _ in deals], ASSOCIATION_BATCH_INPUTS):
        inputs: list[dict[str, str]] = [{"id": d} for d in batch]
        while inputs:
            body = client.post(path, {"inputs": inputs})
            _raise_unless_no_associations(body, path)
            inputs = []
            for result in body.get("results") or []:
                deal_id = str(result["from"]["id"])
                for target in result.get("to") or []:
                    types = target.get("associationTypes") or []
                    primary = any(t.get("label") == PRIMARY_LABEL for t in types)
                    rows += [
                        {
                            "deal_id": deal_id,
                            "to_object_type": to_object_type,
                            "to_object_id": str(target["toObjectId"]),
                            "association_type_id": t.get("typeId"),
                            "category": t.get("category"),
                            "label": t.get("label"),
                            "is_primary": primary,
                            "_scan_chunk": chunk_of[deal_id],
                        }
                        for t in types
                    ]
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    inputs.append({"id": deal_id, "after": str(after)})
    return rows


def _raise_unless_no_associations(body: dict[str, Any], path: str) -> None:
    """A deal without associations is a 207 error entry; any other error fails the scan."""
    for error in body.get("errors") or []:
        if error.get("subCategory") != NO_ASSOCIATIONS:
            message = str(error.get("message", ""))[:300]
            raise HubSpotRequestError(f"HubSpot answered an error in POST {path}: {message}")


def stage_history_rows(
    client: HubSpotClient, deals: Sequence[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Every stay of the deals in a stage, oldest first per deal, re-entries included: entered
    at the history entry's timestamp, exited at the next entry's (null for the current stage).
    `pipeline_id` is the deal's current pipeline (history entries do not name one)."""
    chunk_of = dict(deals)
    rows: list[dict[str, Any]] = []
    for batch in _batches([d for d, _ in deals], HISTORY_BATCH_INPUTS):
        body = {
            "inputs": [{"id": d} for d in batch],
            "properties": [DEALS.pipeline_property, "dealstage"],
            "propertiesWithHistory": ["dealstage"],
        }
        found = client.post(DEALS.batch_read_path, body, params={"archived": "false"})
        for deal in sorted(found.get("results") or [], key=lambda d: int(d["id"])):
            entries = (deal.get("propertiesWithHistory") or {}).get("dealstage") or []
            rows += _stays(deal, entries, chunk_of[str(deal["id"])])
    return rows


def stage_time_rows(stays: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The time each deal spent in each stage: its completed stays summed (the open stay of
    the current stage is not counted: it has no end yet), how often it entered, when first
    and last. `stays` are `stage_history_rows`, oldest first per deal."""
    by_stage: dict[tuple[str, str], dict[str, Any]] = {}
    for stay in stays:
        key = (stay["deal_id"], stay["stage_id"])
        row = by_stage.get(key)
        if row is None:
            row = by_stage[key] = {
                "deal_id": stay["deal_id"],
                "pipeline_id": stay["pipeline_id"],
                "stage_id": stay["stage_id"],
                "times_entered": 0,
                "seconds_in_stage": 0.0,
                "first_entered_at": stay["entered_at"],
                "last_exited_at": None,
                "is_current": False,
                "_scan_chunk": stay["_scan_chunk"],
            }
        row["times_entered"] += 1
        row["last_entered_at"] = stay["entered_at"]
        if stay["exited_at"] is None:
            row["is_current"] = True
        else:
            row["seconds_in_stage"] += stay["seconds_in_stage"]
            row["last_exited_at"] = stay["exited_at"]
    return list(by_stage.values())


def _stays(deal: dict[str, Any], entries: list[dict[str, Any]], chunk: int) -> list[dict]:
    timed = [(parse_hubspot_datetime(e.get("timestamp") or ""), e) for e in entries]
    ordered = sorted(((t, e) for t, e in timed if t is not None), key=lambda te: te[0])
    pipeline = (deal.get("properties") or {}).get(DEALS.pipeline_property)
    stays = []
    for i, (entered, entry) in enumerate(ordered):
        exited: datetime | None = ordered[i + 1][0] if i + 1 < len(ordered) else None
        user = entry.get("updatedByUserId")
        stays.append(
            {
                "deal_id": str(deal["id"]),
                "pipeline_id": pipeline,
                "stage_id": entry.get("value"),
                "entered_at": entered,
                "exited_at": exited,
                "seconds_in_stage": (exited - entered).total_seconds() if exited else None,
                "source_type": entry.get("sourceType"),
                "source_id": entry.get("sourceId"),
                "updated_by_user_id": int(user) if user not in (None, "") else None,
                "_scan_chunk": chunk,
            }
        )
    return stays


# The tables a scan may choose beside its deals (`CrmScan.deal_tables`), and the tables each
# writes.
DEAL_DETAIL_TABLES = ("deal_associations", "deal_stage_history")
WRITTEN_TABLES = {
    "deal_associations": ("deal_associations",),
    "deal_stage_history": ("deal_stage_history", "deal_stage_time"),
}


def deal_detail_resources(
    deal_records: DltResource,
    tables: Sequence[str],
    client: Callable[[], HubSpotClient],
    scan_columns: Callable[[dict[str, Any]], dict[str, Any]],
    key_hints: dict[str, Any],
) -> list[DltResource]:
    """dlt transformers of the deals resource for the chosen `tables`: each reads the details
    of every table of deals the scan reads, so they load (and commit) with that chunk."""

    def hints(columns: dict[str, str]) -> dict[str, Any]:
        typed = {n: {"data_type": t, "nullable": n != "deal_id"} for n, t in columns.items()}
        return {**key_hints, **typed}

    @dlt.transformer(
        data_from=deal_records,
        name="deal_associations",
        write_disposition="append",
        columns=hints(ASSOCIATION_COLUMNS),
    )
    def deal_associations(deals: pa.Table) -> Iterator[pa.Table]:
        """The deals' associations to companies, contacts and line items, every label."""
        live = live_deals(deals)
        for to_object_type in DEALS.association_types if live else ():
            found = association_rows(client(), live, to_object_type)
            yield arrow_table([scan_columns(r) for r in found], ASSOCIATION_COLUMNS)

    stage_time_hints = dlt.mark.make_hints(
        table_name="deal_stage_time", write_disposition="append",
        columns=hints(STAGE_TIME_COLUMNS),
    )  # fmt: skip

    @dlt.transformer(
        data_from=deal_records,
        name="deal_stage_history",
        write_disposition="append",
        columns=hints(STAGE_HISTORY_COLUMNS),
    )
    def deal_stage_history(deals: pa.Table) -> Iterator[Any]:
        """Every stay of the deals in a stage, from their `dealstage` history; and into
        `deal_stage_time`, the time each deal spent in each stage."""
        live = live_deals(deals)
        if live:
            stays = stage_history_rows(client(), live)
            yield arrow_table([scan_columns(r) for r in stays], STAGE_HISTORY_COLUMNS)
            times = [scan_columns(r) for r in stage_time_rows(stays)]
            yield dlt.mark.with_hints(
                arrow_table(times, STAGE_TIME_COLUMNS), stage_time_hints, create_table_variant=True
            )

    by_name = {"deal_associations": deal_associations, "deal_stage_history": deal_stage_history}
    unknown = sorted(set(tables) - set(by_name))
    if unknown:
        raise ValueError(f"unknown deal tables {unknown}; the source has {DEAL_DETAIL_TABLES}")
    return [by_name[name] for name in DEAL_DETAIL_TABLES if name in tables]
