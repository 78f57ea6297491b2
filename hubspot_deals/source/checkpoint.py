"""Checkpoints: a scan's deals are loaded in chunks, each committing where reading resumes.

One run reads deal pages from a single `ObjectStream`; dlt loads them in chunks of thousands of
deals. Each chunk writes the stream's cursor into the deals resource's dlt state, which dlt
commits in the destination together with the chunk's rows. A later run of the same scan restores
that state, so a crashed, failed, paused or retried scan resumes after the last committed page
and reads nothing twice.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import ObjectTableBuilder, with_chunk
from hubspot_deals.source.objects import DEALS
from hubspot_deals.source.reader import Cursor, ObjectReader, ScanFilter
from hubspot_deals.source.reader_process import ObjectBatch, ReaderProcess

ProgressCallback = Callable[[int, int | None], None]


@dataclass
class Checkpoint:
    """What a scan has committed: where reading resumes and how far it had got."""

    fingerprint: str
    cursor: Cursor
    deals_extracted: int
    expected_live_deals: int | None
    committed_at: str
    chunks: int = 0
    started_at: str = ""  # when this pass over the scan began (kept across resumes)
    modified_since_ms: int | None = None  # an incremental pass's cursor (kept across resumes)

    @property
    def finished(self) -> bool:
        return self.cursor.get("phase") == "done"

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> "Checkpoint | None":
        try:
            return cls(**state) if state else None
        except TypeError:
            return None  # written by an incompatible version: start over

    def to_state(self) -> dict[str, Any]:
        return asdict(self)


def scan_fingerprint(
    properties: Sequence[str] | None,
    deal_filter: ScanFilter,
    organization_id: str,
    scan_type: str = "full",
    deal_tables: Sequence[str] = (),
) -> str:
    """Identifies what a scan reads; a checkpoint only resumes a scan with the same one."""
    doc = {
        "scan_type": scan_type,
        "properties": sorted(properties) if properties else None,
        "include_archived": deal_filter.include_archived,
        "start": deal_filter.start_date.isoformat() if deal_filter.start_date else None,
        "end": deal_filter.end_date.isoformat() if deal_filter.end_date else None,
        "organization_id": organization_id,
    }
    if deal_filter.pipeline is not None:  # only when set: older checkpoints stay resumable
        doc["pipeline"] = deal_filter.pipeline
    if deal_tables:  # only when chosen: a resumed scan reads a deal's world for every chunk
        doc["deal_tables"] = sorted(deal_tables)
    if deal_filter.crm_object != DEALS:  # deals' checkpoints predate other objects
        doc["object_type"] = deal_filter.crm_object.object_type
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


class ObjectStream:
    """One run's deals, typed into Arrow tables and cut into checkpointed chunks.

    The tables come from `batches(cursor)`: by default a `ReaderProcess`, which reads,
    decodes and types on the machine's other core while this process loads.
    """

    def __init__(
        self,
        reader: ObjectReader,
        builder: ObjectTableBuilder,
        fingerprint: str,
        resume_from: Checkpoint | None = None,
        chunk_deals: int = 5_000,
        chunk_seconds: float = 30.0,
        on_progress: ProgressCallback | None = None,
        batches: Callable[[Cursor], Iterator[ObjectBatch]] | None = None,
    ) -> None:
        self.reader = reader
        self.builder = builder
        self.fingerprint = fingerprint
        self.chunk_deals = chunk_deals
        self.chunk_seconds = chunk_seconds
        self.on_progress = on_progress
        self.cursor: Cursor = dict(resume_from.cursor) if resume_from else {"phase": "live"}
        self.deals_extracted = resume_from.deals_extracted if resume_from else 0
        self.expected = resume_from.expected_live_deals if resume_from else None
        self.chunks = resume_from.chunks if resume_from else 0
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.started_at = resume_from.started_at if resume_from and resume_from.started_at else now
        self.exhausted = self.cursor.get("phase") == "done"
        self._process = ReaderProcess(reader.client, builder, reader)
        self._open_batches = batches or self._process.batches
        self._batches: Iterator[ObjectBatch] | None = None
        self._pending: ObjectBatch | None = None

    @classmethod
    def open(
        cls,
        client: HubSpotClient,
        builder: ObjectTableBuilder,
        deal_filter: ScanFilter,
        fingerprint: str,
        max_url_length: int,
        **options: Any,
    ) -> "ObjectStream":
        reader = ObjectReader(
            client, [p.name for p in builder.properties], deal_filter, max_url_length
        )
        return cls(reader, builder, fingerprint, **options)

    def close(self) -> None:
        """Stops the reader process (it also stops when this process exits)."""
        self._process.close()

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            fingerprint=self.fingerprint,
            cursor=dict(self.cursor),
            deals_extracted=self.deals_extracted,
            expected_live_deals=self.expected,
            committed_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            chunks=self.chunks,
            started_at=self.started_at,
            modified_since_ms=self.reader.filter.modified_since_ms,
        )

    def count_expected(self) -> None:
        """HubSpot's count of the live deals to read (kept from the first run of the scan)."""
        if self.expected is None:
            self.expected = self.reader.expected_live_total()

    def next_chunk(self) -> Iterator[tuple[pa.Table, Checkpoint]]:
        """Tables of the next chunk, each with the checkpoint that holds once it is loaded.

        Every row carries the chunk's number (`_scan_chunk`); a chunk ends after
        `chunk_deals` deals or `chunk_seconds`, and always where reading passes from live to
        archived deals, so that a deal archived during the scan has its newer row in a later
        chunk than its older one.
        """
        if self.exhausted:
            return
        if self._batches is None:
            self.count_expected()
            if self.on_progress:
                self.on_progress(self.deals_extracted, self.expected)
            self._batches = self._open_batches(dict(self.cursor))
        chunk = self.chunks + 1
        started, in_chunk = time.monotonic(), 0
        phase: str | None = None
        while True:
            batch = self._pending or next(self._batches, None)
            self._pending = None
            if batch is None:
                break
            if phase is not None and batch.phase != phase:
                self._pending = batch  # the next phase starts the next chunk
                self.chunks = chunk
                return
            phase = batch.phase
            self.cursor = batch.cursor
            in_chunk += batch.table.num_rows
            yield self._emit(batch.table, chunk)
            if in_chunk >= self.chunk_deals or time.monotonic() - started >= self.chunk_seconds:
                self.chunks = chunk
                return
        self.exhausted = True
        self.cursor = {"phase": "done"}
        # Always: it carries the finished checkpoint (and creates an empty scan's typed table).
        yield self._emit(self.builder.build([]), chunk)
        self.chunks = chunk

    def _emit(self, table: pa.Table, chunk: int) -> tuple[pa.Table, Checkpoint]:
        self.deals_extracted += table.num_rows
        if self.on_progress:
            self.on_progress(self.deals_extracted, self.expected)
        checkpoint = self.checkpoint()
        checkpoint.chunks = chunk
        return with_chunk(table, chunk), checkpoint
