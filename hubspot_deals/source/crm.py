"""The dlt source: a scan's deals, owners (users), pipelines and stages, and deal properties."""

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
from dlt.sources import DltResource

from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN
from hubspot_deals.source.checkpoint import DealStream
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import DealProperty
from hubspot_deals.source.deals import ALWAYS_REQUESTED

log = logging.getLogger(__name__)

PROPERTIES_PATH = "/crm/v3/properties/deals"
PIPELINES_PATH = "/crm/v3/pipelines/deals"
OWNERS_PATH = "/crm/v3/owners"

_SCAN_KEY_HINTS = {
    SCAN_ID_COLUMN: {"data_type": "text", "nullable": False},
    ORGANIZATION_ID_COLUMN: {"data_type": "text", "nullable": False},
}


def _columns(**names_by_type: str) -> dict[str, dict[str, Any]]:
    """Column hints, so that a column that is null in every row still gets its type."""
    hints = dict(_SCAN_KEY_HINTS)
    for data_type, names in names_by_type.items():
        hints.update({n: {"data_type": data_type, "nullable": True} for n in names.split()})
    return hints


def select_properties(
    definitions: Sequence[dict[str, Any]],
    requested: Sequence[str] | None,
    always: Sequence[str] = ALWAYS_REQUESTED,
) -> tuple[list[DealProperty], list[str]]:
    """The scan's properties in request order (all by default), after the ones it always reads
    (`DealFilter.needed_properties`), and the requested unknown ones."""
    by_name = {d["name"]: DealProperty.from_definition(d) for d in definitions}
    if not requested:
        return list(by_name.values()), []
    names = list(dict.fromkeys([*always, *requested]))
    unknown = [n for n in names if n not in by_name]
    return [by_name[n] for n in names if n in by_name], unknown


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_deals_source(
    client: HubSpotClient | None = None,
    scan_id: str = "__definition__",
    organization_id: str = "default",
    deal_stream: Callable[[list[dict[str, Any]]], DealStream] | None = None,
    cache: dict[str, Any] | None = None,
) -> Sequence[DltResource]:
    """HubSpot deals for one scan. Every row carries `_scan_id` and `_organization_id`.

    `deal_stream` opens the run's `DealStream` from the property definitions; the deals resource
    loads its next chunk each time the source is run and records the chunk's checkpoint in its
    dlt state. `cache` keeps what the chunks of one run share (definitions, pipelines).
    Nothing here touches the network until a resource is extracted, so the source can be built
    at definition time (with no client) to describe the assets.
    """
    cache = cache if cache is not None else {}

    def api() -> HubSpotClient:
        if client is None:
            raise RuntimeError("hubspot_deals_source needs a HubSpotClient to extract data")
        return client

    def scan_columns(row: dict[str, Any]) -> dict[str, Any]:
        row[SCAN_ID_COLUMN] = scan_id
        row[ORGANIZATION_ID_COLUMN] = organization_id
        return row

    def property_definitions() -> list[dict[str, Any]]:
        if "properties" not in cache:
            cache["properties"] = api().get(PROPERTIES_PATH).get("results") or []
        return cache["properties"]

    def pipeline_objects() -> list[dict[str, Any]]:
        if "pipelines" not in cache:
            cache["pipelines"] = api().get(PIPELINES_PATH).get("results") or []
        return cache["pipelines"]

    def owner_pages() -> list[tuple[bool, list[dict[str, Any]]]]:
        """HubSpot owners, active then deactivated, page by page."""
        if "owners" not in cache:
            pages = []
            for archived in ("false", "true"):
                params: dict[str, Any] = {"limit": 500, "archived": archived}
                while True:
                    body = api().get(OWNERS_PATH, params)
                    pages.append((archived == "true", body.get("results") or []))
                    after = ((body.get("paging") or {}).get("next") or {}).get("after")
                    if not after:
                        break
                    params["after"] = after
            cache["owners"] = pages
        return cache["owners"]

    @dlt.resource(
        name="deals",
        # Appended chunk by chunk: a merge would rescan the growing table at every checkpoint.
        # Rows of a chunk whose load never committed are deleted when the scan resumes.
        write_disposition="append",
        columns={**_SCAN_KEY_HINTS, "id": {"data_type": "text", "nullable": False}},
    )
    def deals() -> Iterator[Any]:
        """One row per deal of the scan, HubSpot properties as typed columns."""
        if deal_stream is None:
            raise RuntimeError("hubspot_deals_source needs a deal_stream to extract deals")
        if "stream" not in cache:
            opened = deal_stream(property_definitions())
            opened.count_expected()
            # Before the deal reader process starts, so that its pacing has the bucket to itself.
            selected = dlt.current.source().selected_resources
            if "users" in selected:
                owner_pages()
            if "pipelines" in selected or "pipeline_stages" in selected:
                pipeline_objects()
            cache["stream"] = opened
        stream: DealStream = cache["stream"]
        state = dlt.current.resource_state()
        for table, checkpoint in stream.next_chunk():
            yield table
            # Committed by dlt with this chunk's rows, never before them.
            state["checkpoint"] = checkpoint.to_state()

    @dlt.resource(
        name="users",
        primary_key=(SCAN_ID_COLUMN, "id"),
        write_disposition="merge",
        columns=_columns(
            text="email type first_name last_name",
            bigint="user_id user_id_including_inactive",
            bool="archived",
            json="teams",
            timestamp="created_at updated_at",
        ),
    )
    def users() -> Iterator[list[dict[str, Any]]]:
        """HubSpot owners (users who can own deals), active and deactivated."""
        for archived, owners in owner_pages():
            yield [
                scan_columns(
                    {
                        "id": o["id"],
                        "email": o.get("email"),
                        "type": o.get("type"),
                        "first_name": o.get("firstName"),
                        "last_name": o.get("lastName"),
                        "user_id": o.get("userId"),
                        "user_id_including_inactive": o.get("userIdIncludingInactive"),
                        "teams": o.get("teams") or [],
                        "created_at": o.get("createdAt"),
                        "updated_at": o.get("updatedAt"),
                        "archived": bool(o.get("archived", archived)),
                    }
                )
                for o in owners
            ]

    @dlt.resource(
        name="pipelines",
        primary_key=(SCAN_ID_COLUMN, "id"),
        write_disposition="merge",
        columns=_columns(
            text="label",
            bigint="display_order stage_count",
            bool="archived",
            timestamp="created_at updated_at archived_at",
        ),
    )
    def pipelines() -> Iterator[list[dict[str, Any]]]:
        """Deal pipelines."""
        yield [
            scan_columns(
                {
                    "id": p["id"],
                    "label": p.get("label"),
                    "display_order": p.get("displayOrder"),
                    "archived": bool(p.get("archived", False)),
                    "created_at": p.get("createdAt"),
                    "updated_at": p.get("updatedAt"),
                    "archived_at": p.get("archivedAt"),
                    "stage_count": len(p.get("stages") or []),
                }
            )
            for p in pipeline_objects()
        ]

    @dlt.resource(
        name="pipeline_stages",
        primary_key=(SCAN_ID_COLUMN, "pipeline_id", "id"),
        write_disposition="merge",
        columns=_columns(
            text="label",
            bigint="display_order",
            bool="archived is_closed",
            double="probability",
            json="metadata",
            timestamp="created_at updated_at archived_at",
        ),
    )
    def pipeline_stages() -> Iterator[list[dict[str, Any]]]:
        """The stages of every deal pipeline, with HubSpot's stage metadata typed."""
        rows = []
        for p in pipeline_objects():
            for s in p.get("stages") or []:
                meta = s.get("metadata") or {}
                probability = meta.get("probability")
                rows.append(
                    scan_columns(
                        {
                            "pipeline_id": p["id"],
                            "id": s["id"],
                            "label": s.get("label"),
                            "display_order": s.get("displayOrder"),
                            "archived": bool(s.get("archived", False)),
                            "is_closed": str(meta.get("isClosed")).lower() == "true"
                            if "isClosed" in meta
                            else None,
                            "probability": float(probability)
                            if probability not in (None, "")
                            else None,
                            "metadata": meta,
                            "created_at": s.get("createdAt"),
                            "updated_at": s.get("updatedAt"),
                            "archived_at": s.get("archivedAt"),
                        }
                    )
                )
        yield rows

    @dlt.resource(
        name="deal_properties",
        primary_key=(SCAN_ID_COLUMN, "name"),
        write_disposition="merge",
        columns=_columns(
            text="label type field_type group_name description column_type",
            bigint="display_order",
            bool="hubspot_defined calculated hidden has_unique_value form_field archived",
            json="options definition",
            timestamp="created_at updated_at",
        ),
    )
    def deal_properties() -> Iterator[list[dict[str, Any]]]:
        """Deal property definitions, with the column type each was loaded as."""
        yield [
            scan_columns(
                {
                    "name": d["name"],
                    "label": d.get("label"),
                    "type": d.get("type"),
                    "field_type": d.get("fieldType"),
                    "group_name": d.get("groupName"),
                    "description": d.get("description"),
                    "options": d.get("options") or [],
                    "hubspot_defined": bool(d.get("hubspotDefined", False)),
                    "calculated": bool(d.get("calculated", False)),
                    "hidden": bool(d.get("hidden", False)),
                    "has_unique_value": bool(d.get("hasUniqueValue", False)),
                    "form_field": bool(d.get("formField", False)),
                    "display_order": d.get("displayOrder"),
                    "archived": bool(d.get("archived", False)),
                    "created_at": d.get("createdAt"),
                    "updated_at": d.get("updatedAt"),
                    "column_type": DealProperty.from_definition(d).column_type,
                    "definition": d,
                }
            )
            for d in property_definitions()
        ]

    return deals, users, pipelines, pipeline_stages, deal_properties
