"""The dlt source for HubSpot CRM objects: each object's records (deals first), their property
definitions, pipelines and stages, and the owners (users).

`hubspot_crm` is the public source: configured the dlt way (`sources.hubspot.access_token` in
`.dlt/secrets.toml` or `SOURCES__HUBSPOT__ACCESS_TOKEN`), it reads every record of the chosen
objects in one `pipeline.run`. `hubspot_deals_source` is the same resources for
`hubspot_deals.source.run_scan` (and the Dagster assets): one checkpointed chunk per run of the
pipeline, the chunks of one scan sharing one `CrmScan`.
"""

import logging
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import dlt
from dlt.sources import DltResource

from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN
from hubspot_deals.source.checkpoint import ObjectStream
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import CrmProperty
from hubspot_deals.source.crm_scan import (
    DEFAULT_MAX_URL_LENGTH,
    CrmScan,
    ScanProperties,
    object_filter,
    object_properties,
    select_properties,
    stream_opener,
)
from hubspot_deals.source.deal_details import deal_detail_resources
from hubspot_deals.source.objects import DEALS, CrmObject, crm_object
from hubspot_deals.source.reader import ScanFilter

__all__ = [
    "DEFAULT_MAX_URL_LENGTH", "CrmScan", "ScanProperties", "object_filter", "object_properties",
    "select_properties", "stream_opener", "hubspot_crm", "hubspot_deals_source",
]  # fmt: skip

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.hubapi.com"
OWNERS_PATH = "/crm/v3/owners"
# A scan of the source on its own (not run by run_scan): its rows carry this scan id.
STANDALONE_SCAN_ID = "default"

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


def _date(value: str | date | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


@dlt.source(name="hubspot", section="hubspot", max_table_nesting=0)
def hubspot_crm(
    objects: Sequence[str] = ("deals",),
    properties: ScanProperties = None,
    access_token: str = dlt.secrets.value,
    api_base_url: str = DEFAULT_API_BASE_URL,
    organization_id: str = "default",
    scan_id: str = STANDALONE_SCAN_ID,
    include_archived: bool = False,
    start_date: str | date | None = None,
    end_date: str | date | None = None,
    pipeline_id: str | None = None,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    deal_tables: Sequence[str] = (),
) -> Sequence[DltResource]:
    """HubSpot CRM objects (deals by default) with their property definitions, pipelines and
    stages, and the owners (`users`), for any dlt pipeline: `pipeline.run(hubspot_crm())`.

    `properties` (all of the portal's by default) become typed columns; `include_archived`,
    `start_date`/`end_date` (createdate days, UTC, inclusive) and `pipeline_id` filter the
    records. A plain `properties` list names deal properties (other objects are read whole);
    a mapping names them per object type. `deal_tables` adds `deal_associations` and
    `deal_stage_history` (read for the live deals the scan reads; see `deal_details`). Every
    row carries `_scan_id` (`scan_id`) and `_organization_id`. Each run reads every record
    again; for loads in checkpointed chunks that resume where a stopped run
    committed last, run the scan with `hubspot_deals.source.run_scan`.
    """
    client = HubSpotClient(access_token, api_base_url)
    scan = CrmScan(
        client, scan_id, organization_id, tuple(crm_object(o) for o in objects),
        deal_tables=tuple(deal_tables),
    )  # fmt: skip
    scan_filter = ScanFilter(
        start_date=_date(start_date),
        end_date=_date(end_date),
        include_archived=include_archived,
        pipeline=pipeline_id,
    )
    scan.open_stream = stream_opener(client, scan, properties, scan_filter, "full", max_url_length)
    return crm_resources(scan, chunked=False)


@dlt.source(name="hubspot", section="hubspot", max_table_nesting=0)
def hubspot_deals_source(scan: CrmScan | None = None) -> Sequence[DltResource]:
    """The resources of `scan`, each object's records one checkpointed chunk per run of the
    pipeline (`run_scan` runs it chunk after chunk). Without a scan it describes the tables
    only (the Dagster assets' specs): nothing here touches the network until a resource is
    extracted."""
    return crm_resources(scan or CrmScan(), chunked=True)


def crm_resources(scan: CrmScan, chunked: bool) -> list[DltResource]:
    """The dlt resources of a scan's objects. With `chunked`, each extraction of an object's
    resource loads its next chunk and records the chunk's checkpoint in its dlt state (which
    dlt commits with the chunk's rows); without, one extraction reads all its chunks."""
    cache = scan.cache

    def api() -> HubSpotClient:
        if scan.client is None:
            raise RuntimeError("the HubSpot source needs a HubSpotClient to extract data")
        return scan.client

    def scan_columns(row: dict[str, Any]) -> dict[str, Any]:
        row[SCAN_ID_COLUMN] = scan.scan_id
        row[ORGANIZATION_ID_COLUMN] = scan.organization_id
        return row

    def property_definitions(obj: CrmObject) -> list[dict[str, Any]]:
        key = f"properties:{obj.object_type}"
        if key not in cache:
            cache[key] = api().get(obj.properties_path).get("results") or []
        return cache[key]

    def pipeline_objects() -> list[dict[str, Any]]:
        if "pipelines" not in cache:
            cache["pipelines"] = [
                p
                for obj in scan.objects
                if obj.has_pipelines
                for p in api().get(obj.pipelines_path).get("results") or []
            ]
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

    def open_stream(obj: CrmObject) -> ObjectStream:
        if obj.object_type not in scan.streams:
            if scan.open_stream is None:
                raise RuntimeError(f"the HubSpot source needs a stream to extract {obj.table}")
            opened = scan.open_stream(obj, property_definitions(obj))
            opened.count_expected()
            # Before the reader process starts, so that its pacing has the bucket to itself.
            selected = dlt.current.source().selected_resources
            if "users" in selected:
                owner_pages()
            if "pipelines" in selected or "pipeline_stages" in selected:
                pipeline_objects()
            scan.streams[obj.object_type] = opened
        return scan.streams[obj.object_type]

    def records(obj: CrmObject) -> DltResource:
        @dlt.resource(
            name=obj.table,
            # Appended chunk by chunk: a merge would rescan the growing table at every
            # checkpoint. Rows of a chunk whose load never committed are deleted on resume.
            write_disposition="append",
            columns={**_SCAN_KEY_HINTS, obj.primary_key: {"data_type": "text", "nullable": False}},
        )
        def read() -> Iterator[Any]:
            """One row per record of the scan, HubSpot properties as typed columns."""
            stream = open_stream(obj)
            state = dlt.current.resource_state()
            while True:
                for table, checkpoint in stream.next_chunk():
                    yield table
                    # Committed by dlt with this chunk's rows, never before them.
                    state["checkpoint"] = checkpoint.to_state()
                if chunked or stream.exhausted:
                    return

        return read

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
        """The pipelines of the objects that have them (deals)."""
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
        """The stages of every pipeline, with HubSpot's stage metadata typed."""
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

    def property_rows(obj: CrmObject) -> DltResource:
        @dlt.resource(
            name=obj.properties_table,
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
        def definitions() -> Iterator[list[dict[str, Any]]]:
            """Property definitions, with the column type each was loaded as."""
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
                        "column_type": CrmProperty.from_definition(d).column_type,
                        "definition": d,
                    }
                )
                for d in property_definitions(obj)
            ]

        return definitions

    with_pipelines = any(obj.has_pipelines for obj in scan.objects)
    object_records = {obj.object_type: records(obj) for obj in scan.objects}
    details = []
    if scan.deal_tables:
        if DEALS.object_type not in object_records:
            raise ValueError(f"{list(scan.deal_tables)} need deals among the scan's objects")
        details = deal_detail_resources(
            object_records[DEALS.object_type], scan.deal_tables, api, scan_columns,
            _SCAN_KEY_HINTS,
        )  # fmt: skip
    return [
        *object_records.values(),
        *details,
        users,
        *((pipelines, pipeline_stages) if with_pipelines else ()),
        *(property_rows(obj) for obj in scan.objects),
    ]
