"""run_scan: one scan of HubSpot CRM objects into any dlt destination, in checkpointed chunks.

A scan loads each object's records chunk by chunk; each chunk's checkpoint is written into the
object resource's dlt state, which dlt commits in the destination with the chunk's rows. A run
of a scan whose last run stopped part-way resumes after that checkpoint (dropping the rows of a
chunk that was loaded but never committed); a run of a finished scan, or of one with other
filters, starts a fresh pass that replaces the scan's rows.

Whoever runs the scan (a plain script, the Dagster asset) hears of it through `ScanHooks`:
logging, progress, checkpoints, a place to stop after each checkpoint, and how a step on the
destination is tried (the Dagster asset waits out a busy destination there, the load layer's
rule). Nothing here imports Dagster.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.extract.source import DltSource

from hubspot_deals.load.destination import when_destination_free
from hubspot_deals.load.scan_rows import (
    clear_scan_rows,
    delete_uncommitted_chunks,
    keep_newest_deal_rows,
    read_checkpoint,
)
from hubspot_deals.source.checkpoint import Checkpoint, ObjectStream, scan_fingerprint
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.crm import (
    DEFAULT_API_BASE_URL,
    DEFAULT_MAX_URL_LENGTH,
    CrmScan,
    ScanProperties,
    hubspot_deals_source,
    object_filter,
    object_properties,
    stream_opener,
)
from hubspot_deals.source.deal_details import DEAL_DETAIL_TABLES, WRITTEN_TABLES
from hubspot_deals.source.objects import DEALS, CrmObject, crm_object
from hubspot_deals.source.reader import ScanFilter

log = logging.getLogger(__name__)
T = TypeVar("T")


class ScanHooks:
    """What run_scan tells its runner, and asks of it. Every method has a plain default; the
    Dagster asset overrides them with run tags, stop requests and its log."""

    def info(self, message: str) -> None:
        log.info(message)

    def warning(self, message: str) -> None:
        log.warning(message)

    def destination_step(self, action: Callable[[], T]) -> T:
        """Runs one step on the destination (a chunk's load, reading the checkpoint, clearing
        rows), waiting out a destination that is busy or down for the load layer's patience
        (`when_destination_free`, HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS)."""
        return when_destination_free(action, self.warning)

    def incremental_since_ms(self) -> int | None:
        """Where a fresh incremental pass starts (epoch ms): records changed since then."""
        return None

    def scan_started(self, resume: Checkpoint | None) -> None:
        """The scan is about to read: a fresh pass (`resume` None) or a resumed one."""

    def scan_ended(self) -> None:
        """The scan stopped reading (finished, failed or stopped)."""

    def progress(self, extracted: int, expected: int | None) -> None:
        """Records read so far, and HubSpot's count of those to read."""

    def checkpointed(self, checkpoint: Checkpoint) -> None:
        """A chunk and its checkpoint are committed in the destination."""

    def after_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Called after each committed checkpoint but the last: raise to stop the scan here."""

    def after_first_load(self) -> None:
        """The scan's first chunk made its tables."""


@dataclass
class ScanReport:
    """What a scan did: per object its stream (records read, chunks, read strategy) and the
    checkpoint it resumed from; the rows loaded per table over all chunks; dlt's load infos."""

    scan_id: str
    organization_id: str
    selected: list[str]
    streams: dict[str, ObjectStream] = field(default_factory=dict)
    resumed_from: dict[str, Checkpoint | None] = field(default_factory=dict)
    unknown_properties: dict[str, list[str]] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    modified_since_ms: int | None = None
    first_load: LoadInfo | None = None
    last_load: LoadInfo | None = None
    seconds: float = 0.0


def run_scan(
    pipeline: dlt.Pipeline,
    scan_id: str,
    *,
    client: HubSpotClient | None = None,
    access_token: str | None = None,
    api_base_url: str | None = None,
    organization_id: str = "default",
    objects: Sequence[str] = ("deals",),
    properties: ScanProperties = None,
    scan_filter: ScanFilter | None = None,
    scan_type: str = "full",
    tables: Sequence[str] | None = None,
    deal_tables: Sequence[str] = (),
    chunk_records: int = 5_000,
    chunk_seconds: float = 30.0,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    hooks: ScanHooks | None = None,
) -> ScanReport:
    """Loads one scan into `pipeline`'s destination, resuming where its last run committed.

    `pipeline` is the scan's own (its dlt state holds the scan's checkpoints; one pipeline per
    scan, any number sharing a dataset). The HubSpot client is `client`, or one made from
    `access_token` and `api_base_url` (by default dlt's `sources.hubspot.access_token` secret and
    `sources.hubspot.api_base_url` setting, else HubSpot's); a client made here is closed here.
    `tables` chooses the resources (all by default). `scan_type="incremental"` reads the
    records changed since `hooks.incremental_since_ms()` (a resumed pass keeps the point it
    started from). Failures propagate as raised."""
    hooks = hooks or ScanHooks()
    scan_filter = scan_filter or ScanFilter()
    crm_objects = tuple(crm_object(o) for o in objects)
    own_client = client is None
    if client is None:
        token = access_token or dlt.secrets["sources.hubspot.access_token"]
        base_url = api_base_url or dlt.config.get("sources.hubspot.api_base_url", str)
        client = HubSpotClient(token, base_url or DEFAULT_API_BASE_URL)
    try:
        return _run(
            pipeline, client, scan_id, organization_id, crm_objects, properties, scan_filter,
            scan_type, tables, tuple(deal_tables), chunk_records, chunk_seconds, max_url_length,
            hooks,
        )  # fmt: skip
    finally:
        if own_client:
            client.close()


def _run(
    pipeline: dlt.Pipeline,
    client: HubSpotClient,
    scan_id: str,
    organization_id: str,
    crm_objects: tuple[CrmObject, ...],
    properties: ScanProperties,
    scan_filter: ScanFilter,
    scan_type: str,
    tables: Sequence[str] | None,
    deal_tables: tuple[str, ...],
    chunk_records: int,
    chunk_seconds: float,
    max_url_length: int,
    hooks: ScanHooks,
) -> ScanReport:
    started = time.monotonic()
    # Local dlt state is a cache: drop it (and any package a crashed run left) and restore the
    # scan's committed state from the destination.
    pipeline.drop()
    resume: dict[str, Checkpoint | None] = {}
    for obj in crm_objects:
        fingerprint = scan_fingerprint(
            object_properties(properties, obj), object_filter(scan_filter, obj), organization_id,
            scan_type, deal_tables if obj == DEALS else (),
        )  # fmt: skip
        previous = hooks.destination_step(lambda t=obj.table: read_checkpoint(pipeline, t))
        usable = previous is not None and previous.fingerprint == fingerprint
        resume[obj.object_type] = previous if usable else None
    resuming = [c for c in resume.values() if c is not None and not c.finished]
    if not resuming:  # every object finished, or none started: a fresh pass over all
        resume = dict.fromkeys(resume)
    modified_since = None
    if scan_type == "incremental":
        modified_since = resuming[0].modified_since_ms if resuming else hooks.incremental_since_ms()
        since = datetime.fromtimestamp((modified_since or 0) / 1000, UTC).isoformat()
        hooks.info(f"scan {scan_id}: incremental, records changed since {since}")
    scan_filter = replace(scan_filter, modified_since_ms=modified_since)
    # A fresh pass replaces whatever the scan had, even rows of a first run that died before
    # its first checkpoint.
    if not resuming and hooks.destination_step(lambda: clear_scan_rows(pipeline, scan_id)):
        hooks.info(f"scan {scan_id}: fresh pass, previous rows replaced")
    for obj in crm_objects:
        checkpoint = resume[obj.object_type]
        if checkpoint is None or checkpoint.finished:  # a finished object stays as loaded
            continue
        orphans = sum(
            hooks.destination_step(
                lambda c=checkpoint, t=table: delete_uncommitted_chunks(
                    pipeline, scan_id, c.chunks, t
                )
            )
            for table in (
                obj.table,
                *(t for d in deal_tables if obj == DEALS for t in WRITTEN_TABLES[d]),
            )
        )
        hooks.info(
            f"scan {scan_id}: resuming {obj.table} after {checkpoint.deals_extracted} records "
            f"(checkpoint of {checkpoint.committed_at}; {orphans} uncommitted rows dropped)"
        )
    scan = CrmScan(client, scan_id, organization_id, crm_objects, deal_tables=deal_tables)
    scan.open_stream = stream_opener(
        client, scan, properties, scan_filter, scan_type, max_url_length,
        resume_from=lambda obj: resume[obj.object_type], warn=hooks.warning,
        chunk_deals=chunk_records, chunk_seconds=chunk_seconds, on_progress=hooks.progress,
    )  # fmt: skip
    names = list(hubspot_deals_source(scan).resources)
    selected = [n for n in names if tables is None or n in tables]
    report = ScanReport(scan_id, organization_id, selected, resumed_from=resume)
    report.modified_since_ms = modified_since
    hooks.scan_started(resuming[0] if resuming else None)
    try:
        while True:
            chunk_names = selected
            if report.first_load is not None:
                chunk_names = [
                    n for o in crm_objects if _reading(scan, o) for n in _chunk_tables(o, selected)
                ]

            def chunk_source(chunk_names: list[str] = chunk_names) -> DltSource:
                return hubspot_deals_source(scan).with_resources(*chunk_names)

            load, row_counts = load_chunk(pipeline, chunk_source, hooks.destination_step)
            if report.first_load is None:
                report.first_load = load
                hooks.after_first_load()
            report.last_load = load
            for table, count in row_counts.items():
                report.rows_loaded[table] = report.rows_loaded.get(table, 0) + count
            reading = [o for o in crm_objects if o.table in selected and _reading(scan, o)]
            if not reading:
                break
            for obj in reading:
                checkpoint = scan.streams[obj.object_type].checkpoint()
                hooks.checkpointed(checkpoint)
                hooks.after_checkpoint(checkpoint)
    finally:
        hooks.scan_ended()
    for obj in crm_objects:
        stream = scan.streams.get(obj.object_type)
        if stream is None:
            continue
        hooks.checkpointed(stream.checkpoint())
        if stream.reader.filter.reads_archived:
            hooks.destination_step(lambda t=obj.table: keep_newest_deal_rows(pipeline, scan_id, t))
    report.streams = dict(scan.streams)
    report.unknown_properties = dict(scan.unknown_properties)
    report.seconds = time.monotonic() - started
    return report


def _chunk_tables(obj: CrmObject, selected: list[str]) -> list[str]:
    """The tables a chunk of `obj` loads: its records, and for deals the chosen deal tables
    (read from the chunk's deals)."""
    return [obj.table, *(t for t in DEAL_DETAIL_TABLES if obj == DEALS and t in selected)]


def _reading(scan: CrmScan, obj: CrmObject) -> bool:
    """Whether the object's stream has more chunks to load (or has not opened yet)."""
    stream = scan.streams.get(obj.object_type)
    return stream is not None and not stream.exhausted


def load_chunk(
    pipeline: dlt.Pipeline,
    chunk_source: Callable[[], DltSource],
    destination_step: Callable[[Callable[[], LoadInfo]], LoadInfo],
) -> tuple[LoadInfo, dict[str, int]]:
    """Loads one chunk; returns the load's info and the rows it loaded per table. A chunk that
    was read but not loaded (the destination was busy) is loaded from its package, never read
    again, so its checkpoint and rows commit together."""
    row_counts: dict[str, int] = {}

    def load() -> LoadInfo:
        try:
            # A pending package (read, not loaded) is finished; nothing new is read then.
            info = pipeline.run() if pipeline.has_pending_data else pipeline.run(chunk_source())
        finally:
            # The rows are counted when normalized: by the try that read the chunk, which may
            # not be the one that loads it.
            trace = pipeline.last_trace
            if trace is not None and trace.last_normalize_info is not None:
                row_counts.clear()
                row_counts.update(trace.last_normalize_info.row_counts)
        info.raise_on_failed_jobs()
        return info

    return destination_step(load), row_counts
