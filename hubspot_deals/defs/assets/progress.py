"""A running scan's voice: progress, checkpoints and a heartbeat, published as run tags.

The REST API and the crash sensor read these tags. The heartbeat beats on its own thread, so a
long load or a long wait for HubSpot (429 patience, a busy destination) never looks like a dead
worker: a stale heartbeat means the process is gone. If Dagster has marked the run finished from
outside (crash detection, a forced cancel) while the worker is in fact alive, the heartbeat stops
the scan, so that a resumed run is never a second writer of the same scan.
"""

import _thread
import json
import threading
import time
from datetime import UTC, datetime

from dagster import AssetExecutionContext, DagsterRunStatus

from hubspot_deals.scan import Tag
from hubspot_deals.source.checkpoint import Checkpoint

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ScanProgress:
    """Publishes progress, heartbeat and checkpoints as run tags; use it as a context manager
    to keep the heartbeat beating while the scan works.

    Progress is written at most every `every_seconds`. A count held back by that limit is not
    lost: the heartbeat thread writes it once the interval has passed, so a scan that stalls
    right after a batch (a held page, 429 patience) still shows the deals it has read.
    """

    def __init__(
        self,
        context: AssetExecutionContext,
        resuming: bool = False,
        every_seconds: float = 2.0,
        heartbeat_seconds: float = 15.0,
    ) -> None:
        self.context = context
        self.every_seconds = every_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._last = 0.0
        self._last_publish = 0.0
        self._pending: dict[str, str] | None = None
        # add_run_tags rewrites the stored run: one writer at a time, or a tag can be lost.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A resumed run reports `resuming` until it ends: it is catching up on an earlier run.
        self._publish({Tag.RESUMING: "true" if resuming else "false"})

    def _publish(self, new_tags: dict[str, str]) -> None:
        new_tags[Tag.HEARTBEAT] = now_iso()
        with self._lock:
            self.context.instance.add_run_tags(self.context.run.run_id, new_tags)
            self._last_publish = time.monotonic()

    def __call__(self, extracted: int, expected: int | None) -> None:
        new_tags = {Tag.RECORDS_EXTRACTED: str(extracted)}
        if expected is not None:
            new_tags[Tag.EXPECTED_RECORDS] = str(expected)
        with self._lock:
            due = not extracted or time.monotonic() - self._last >= self.every_seconds
            self._pending = None if due else new_tags
            if due:
                self._last = time.monotonic()
        if due:
            self._publish(new_tags)

    def _publish_pending(self) -> None:
        """The count held back by the interval, once the interval has passed."""
        with self._lock:
            pending = self._pending
            if pending is None or time.monotonic() - self._last < self.every_seconds:
                return
            self._pending = None
            self._last = time.monotonic()
        self._publish(pending)

    def checkpointed(self, checkpoint: Checkpoint) -> None:
        """A chunk and its checkpoint are committed in the destination."""
        new_tags = {
            Tag.RECORDS_EXTRACTED: str(checkpoint.deals_extracted),
            Tag.CHECKPOINT: json.dumps(
                {
                    "cursor": checkpoint.cursor,
                    "dealsExtracted": checkpoint.deals_extracted,
                    "chunks": checkpoint.chunks,
                }  # fmt: skip
            ),
            Tag.CHECKPOINT_AT: checkpoint.committed_at,
        }
        if checkpoint.expected_live_deals is not None:
            new_tags[Tag.EXPECTED_RECORDS] = str(checkpoint.expected_live_deals)
        with self._lock:
            pending = self._pending
            if pending and int(pending[Tag.RECORDS_EXTRACTED]) <= checkpoint.deals_extracted:
                self._pending = None
        self._publish(new_tags)

    # -- heartbeat --------------------------------------------------------------------------------

    def __enter__(self) -> "ScanProgress":
        self._thread = threading.Thread(target=self._beat, name="scan-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _beat(self) -> None:
        instance, run_id = self.context.instance, self.context.run.run_id
        while not self._stop.wait(min(self.heartbeat_seconds, 5.0, self.every_seconds)):
            try:
                self._publish_pending()
                if time.monotonic() - self._last_publish < self.heartbeat_seconds:
                    continue
                run = instance.get_run_by_id(run_id)
                if run is None or run.status in FINISHED:
                    state = "deleted" if run is None else run.status.value
                    self.context.log.error(
                        f"this run was marked {state} from outside while it still worked "
                        "(crash detection or a forced cancel): stopping the scan"
                    )
                    _thread.interrupt_main()
                    return
                self._publish({})
            except Exception as exc:  # storage briefly unreachable: beat again later
                self.context.log.warning(f"heartbeat not written: {type(exc).__name__}")
