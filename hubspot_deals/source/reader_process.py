"""The deal reader's own process: fetching, JSON decoding and typing on the second core.

A scan's Python would otherwise do everything under one GIL: HTTP, JSON decoding and Arrow
typing of every deal, and dlt's loading. Here a child process (`python -m
hubspot_deals.source.reader_process`) reads the deal pages, types them into Arrow tables of
`DEALS_PER_BATCH` deals and ships each as Arrow IPC, with the cursor that resumes right after
it, over its stdout. The scan's process only loads them.

Protocol: the parent writes one JSON line on the child's stdin (the job, token included: never
in argv or the environment) and keeps stdin open; the child exits when it closes. The child
writes frames: a 4-byte big-endian length, a JSON header, and, for batches, `ipc_bytes` bytes
of an Arrow IPC stream. Headers: `batch` (cursor, phase, client stats), `done`, `error` (a
HubSpot error, re-raised in the parent as the same class) and `crash` (anything else).
"""

import contextlib
import json
import os
import queue
import struct
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

import pyarrow as pa

from hubspot_deals.source import errors
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import CrmProperty, ObjectTableBuilder
from hubspot_deals.source.memory import lean_environment
from hubspot_deals.source.objects import crm_object
from hubspot_deals.source.reader import Cursor, ObjectReader, Page, ScanFilter, prefetch

# Pages are typed and handed on in batches: dlt's cost per item outweighs its cost per row.
DEALS_PER_BATCH = 2_000
# ...or fewer, once a batch has waited this long: a slow, rate-limited read still shows progress.
BATCH_SECONDS = 1.0
# Typed batches the scan may have waiting (about 3 MB each with 77 properties).
BATCHES_AHEAD = 6
_HEADER = struct.Struct(">I")


@dataclass
class ObjectBatch:
    """Typed deals (without `_scan_chunk`) and the cursor that resumes right after them."""

    table: pa.Table
    cursor: Cursor
    phase: str


def typed_batches(
    pages: Iterator[tuple[Page, Cursor, str]],
    builder: ObjectTableBuilder,
    deals_per_batch: int = DEALS_PER_BATCH,
    batch_seconds: float = BATCH_SECONDS,
) -> Iterator[ObjectBatch]:
    """Pages grouped into typed batches of `deals_per_batch` deals, or what `batch_seconds` of
    reading brought; a batch never holds two phases, and the last batch of a phase is sent even
    when empty, so that its cursor (the phase's end) is never lost."""
    batch: list[dict[str, Any]] = []
    cursor: Cursor | None = None
    phase: str | None = None
    started = time.monotonic()
    for page, page_cursor, page_phase in pages:
        if phase is not None and page_phase != phase and cursor is not None:
            yield ObjectBatch(builder.build(batch), cursor, phase)
            batch = []
            started = time.monotonic()
        phase, cursor = page_phase, page_cursor
        batch += page
        if len(batch) >= deals_per_batch or time.monotonic() - started >= batch_seconds:
            yield ObjectBatch(builder.build(batch), cursor, phase)
            batch = []
            cursor = None
            started = time.monotonic()
    if phase is not None and cursor is not None:
        yield ObjectBatch(builder.build(batch), cursor, phase)


class ReaderProcess:
    """The parent's side: starts the child for one run of a scan and yields its batches.

    The HubSpot figures of the child's client (requests, 429s, rate-limit headroom) are added
    to `client`'s, so that the scan reports every request it caused.
    """

    def __init__(self, client: HubSpotClient, builder: ObjectTableBuilder, reader: ObjectReader):
        self.client = client
        self.builder = builder
        self.reader = reader
        self._proc: subprocess.Popen[bytes] | None = None
        self._seen_stats: Counter[str] = Counter()

    def batches(self, cursor: Cursor) -> Iterator[ObjectBatch]:
        proc = self._start(cursor)
        frames: queue.Queue[tuple[dict[str, Any], pa.Table | None]] = queue.Queue(BATCHES_AHEAD)
        reader = threading.Thread(
            target=_read_frames, args=(proc.stdout, frames), daemon=True, name="deal-batches"
        )
        reader.start()
        try:
            while True:
                header, table = frames.get()
                self._merge_client_figures(header)
                kind = header["kind"]
                if kind == "batch":
                    assert table is not None
                    yield ObjectBatch(table, header["cursor"], header["phase"])
                elif kind == "done":
                    return
                elif kind == "error":
                    raise _hubspot_error(header)
                else:
                    raise RuntimeError(f"the deal reader process failed: {header.get('detail')}")
        finally:
            self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)

    def _start(self, cursor: Cursor) -> "subprocess.Popen[bytes]":
        f = self.reader.filter
        pacer = self.client.burst_pacer
        job = {
            "client": self.client.worker_settings(),
            "burst_limit": [pacer.limit, pacer.interval] if pacer.limit else None,
            # This process's requests still count in HubSpot's windows: the child waits for them.
            "burst_recent": pacer.recent(),
            "search_recent": self.client.search_pacer.recent(),
            # Which bucket searches draw on, as this process learned it: the child paces alike.
            "buckets": self.client.buckets.state(),
            "properties": [
                {"name": p.name, "type": p.type, "fieldType": p.field_type}
                for p in self.builder.properties
            ],
            "scan_id": self.builder.scan_id,
            "organization_id": self.builder.organization_id,
            "filter": {
                "start_date": f.start_date.isoformat() if f.start_date else None,
                "end_date": f.end_date.isoformat() if f.end_date else None,
                "include_archived": f.include_archived,
                "modified_since_ms": f.modified_since_ms,
                "pipeline": f.pipeline,
                "object_type": f.crm_object.object_type,
            },
            "max_url_length": self.reader.max_url_length,
            "cursor": cursor,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env={**os.environ, **lean_environment()},
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        proc.stdin.flush()
        self._proc = proc
        weakref.finalize(self, _stop, proc)
        return proc

    def _merge_client_figures(self, header: dict[str, Any]) -> None:
        stats = Counter(header.get("stats") or {})
        self.client.stats.update(stats - self._seen_stats)
        self._seen_stats = stats
        if header.get("rate_limit"):
            self.client.rate_limit = header["rate_limit"]
        if header.get("strategy"):
            self.reader.strategy_used = header["strategy"]


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _read_frames(
    stream: IO[bytes], frames: "queue.Queue[tuple[dict[str, Any], pa.Table | None]]"
) -> None:
    try:
        while True:
            size = stream.read(_HEADER.size)
            if len(size) < _HEADER.size:
                frames.put(({"kind": "crash", "detail": "it exited without finishing"}, None))
                return
            header = json.loads(stream.read(_HEADER.unpack(size)[0]))
            table = None
            if header.get("ipc_bytes"):
                data = stream.read(header["ipc_bytes"])
                table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
            frames.put((header, table))
            if header["kind"] != "batch":
                return
    except (OSError, ValueError) as exc:
        frames.put(({"kind": "crash", "detail": f"{type(exc).__name__}: {exc}"}, None))


def _hubspot_error(header: dict[str, Any]) -> errors.HubSpotError:
    cls = getattr(errors, header["error_class"], errors.HubSpotError)
    if not (isinstance(cls, type) and issubclass(cls, errors.HubSpotError)):
        cls = errors.HubSpotError
    exc = cls.__new__(cls)
    Exception.__init__(exc, header["message"])  # the message already carries the correlation id
    exc.status = header.get("status")
    exc.correlation_id = header.get("correlation_id") or ""
    return exc


# -- the child ------------------------------------------------------------------------------


def _write_frame(out: IO[bytes], header: dict[str, Any], table: pa.Table | None = None) -> None:
    body = b""
    if table is not None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        body = sink.getvalue().to_pybytes()
        header["ipc_bytes"] = len(body)
    encoded = json.dumps(header).encode()
    out.write(_HEADER.pack(len(encoded)) + encoded)
    if body:
        out.write(body)
    out.flush()


def _exit_with_parent() -> None:
    """The parent holds our stdin open while it wants batches; EOF means it is gone."""
    # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader's lock makes
    # the interpreter's shutdown abort ("could not acquire lock for <stdin>").
    while os.read(0, 65536):
        pass
    os._exit(0)


def _child_main() -> int:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must never corrupt the frames
    job = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    client = HubSpotClient(**job["client"])
    if job["burst_limit"]:
        client.burst_pacer.configure(*job["burst_limit"])
    client.burst_pacer.preload(job["burst_recent"])
    client.search_pacer.preload(job["search_recent"])
    client.buckets.restore(job["buckets"])
    f = job["filter"]
    deal_filter = ScanFilter(
        start_date=date.fromisoformat(f["start_date"]) if f["start_date"] else None,
        end_date=date.fromisoformat(f["end_date"]) if f["end_date"] else None,
        include_archived=f["include_archived"],
        modified_since_ms=f["modified_since_ms"],
        pipeline=f.get("pipeline"),
        crm_object=crm_object(f["object_type"]),
    )
    builder = ObjectTableBuilder(
        [CrmProperty.from_definition(d) for d in job["properties"]],
        job["scan_id"],
        job["organization_id"],
    )
    reader = ObjectReader(
        client, [p.name for p in builder.properties], deal_filter, job["max_url_length"]
    )

    def figures() -> dict[str, Any]:
        return {"stats": dict(client.stats), "rate_limit": client.rate_limit}

    try:
        strategy = reader.live_strategy
        for batch in typed_batches(prefetch(reader.pages(job["cursor"])), builder):
            header = {"kind": "batch", "cursor": batch.cursor, "phase": batch.phase}
            _write_frame(out, {**header, **figures(), "strategy": strategy}, batch.table)
            strategy = reader.live_strategy
        _write_frame(out, {"kind": "done", **figures(), "strategy": strategy})
    except errors.HubSpotError as exc:
        header = {
            "kind": "error",
            "error_class": type(exc).__name__,
            "message": str(exc),
            "status": exc.status,
            "correlation_id": exc.correlation_id,
        }
        _write_frame(out, {**header, **figures()})
    except BrokenPipeError:
        return 0
    except Exception:
        _write_frame(out, {"kind": "crash", "detail": traceback.format_exc(limit=20)})
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
