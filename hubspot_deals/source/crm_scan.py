"""A scan as the source's resources read it (`CrmScan`), and how each object's stream opens for
it: which properties of the object the scan reads, the filter over its records, the checkpoint
fingerprint. The resources themselves are in `crm`.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hubspot_deals.source.checkpoint import ObjectStream, scan_fingerprint
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import CrmProperty, ObjectTableBuilder
from hubspot_deals.source.objects import DEALS, CrmObject, crm_object
from hubspot_deals.source.reader import ScanFilter

log = logging.getLogger(__name__)

DEFAULT_MAX_URL_LENGTH = 15_000


def select_properties(
    definitions: Sequence[dict[str, Any]],
    requested: Sequence[str] | None,
    always: Sequence[str],
) -> tuple[list[CrmProperty], list[str]]:
    """The scan's properties in request order (all by default), after the ones it always reads
    (`ScanFilter.needed_properties`), and the requested unknown ones."""
    by_name = {d["name"]: CrmProperty.from_definition(d) for d in definitions}
    if not requested:
        return list(by_name.values()), []
    names = list(dict.fromkeys([*always, *requested]))
    unknown = [n for n in names if n not in by_name]
    return [by_name[n] for n in names if n in by_name], unknown


ScanProperties = Sequence[str] | Mapping[str, Sequence[str]] | None


def object_properties(properties: ScanProperties, obj: CrmObject) -> Sequence[str] | None:
    """The properties a scan reads of `obj` (None: all of them). A plain list names deal
    properties (a scan's `properties` always has): the other objects are then read whole; a
    mapping names them per object type."""
    if isinstance(properties, Mapping):
        return properties.get(obj.object_type)
    return properties if obj == DEALS else None


def object_filter(scan_filter: ScanFilter, obj: CrmObject) -> ScanFilter:
    """The scan's filter over `obj`'s records: a pipeline filter narrows only objects that
    have pipelines (the companies of a scan of one pipeline's deals are all read)."""
    pipeline = scan_filter.pipeline if obj.has_pipelines else None
    return replace(scan_filter, crm_object=obj, pipeline=pipeline)


StreamOpener = Callable[[CrmObject, list[dict[str, Any]]], ObjectStream]


@dataclass
class CrmScan:
    """One scan as its resources read it: the client, the rows' scan and organization ids, the
    objects, and how an object's stream opens from its property definitions. The chunks of one
    scan share it: the definitions, pipelines and owners are read once, and each object's
    stream (its reader process) stays open from chunk to chunk."""

    client: HubSpotClient | None = None
    scan_id: str = "__definition__"
    organization_id: str = "default"
    objects: tuple[CrmObject, ...] = (crm_object("deals"),)
    open_stream: StreamOpener | None = None
    # Tables read beside the deals (`deal_details.DEAL_DETAIL_TABLES`): none by default.
    deal_tables: tuple[str, ...] = ()
    streams: dict[str, ObjectStream] = field(default_factory=dict)
    unknown_properties: dict[str, list[str]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


def stream_opener(
    client: HubSpotClient,
    scan: "CrmScan",
    properties: ScanProperties,
    scan_filter: ScanFilter,
    scan_type: str = "full",
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    resume_from: Callable[[CrmObject], Any] = lambda obj: None,
    warn: Callable[[str], None] = log.warning,
    **options: Any,
) -> StreamOpener:
    """How each object's stream opens: its properties selected from its definitions (unknown
    requested ones are reported and skipped), typed for the scan, read with the filter."""

    def open_stream(obj: CrmObject, definitions: list[dict[str, Any]]) -> ObjectStream:
        read_filter = object_filter(scan_filter, obj)
        wanted = object_properties(properties, obj)
        selected, unknown = select_properties(definitions, wanted, read_filter.needed_properties)
        if unknown:
            warn(f"HubSpot has no {obj.singular} properties {unknown}; skipped")
        scan.unknown_properties[obj.object_type] = unknown
        fingerprint = scan_fingerprint(
            wanted, replace(read_filter, modified_since_ms=None), scan.organization_id, scan_type,
            scan.deal_tables if obj == DEALS else (),
        )  # fmt: skip
        return ObjectStream.open(
            client,
            ObjectTableBuilder(selected, scan.scan_id, scan.organization_id),
            read_filter,
            fingerprint,
            max_url_length,
            resume_from=resume_from(obj),
            **options,
        )

    return open_stream
