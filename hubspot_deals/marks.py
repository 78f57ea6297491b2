"""Marks: why a scan's run was stopped, or must stop, recorded in Dagster itself.

A mark is a runless observation of the scan's partition of `hubspot/deals` whose description
starts `hubspot_deals/<kind> run=<run id>`. The REST API writes one before it stops a run (pause,
cancel, crash detection); it is the durable record of the request, visible in the Dagster UI,
with no state store of the shim's:

- the shim maps a stopped run (CANCELING, CANCELED) to `paused`, `crashed` or `cancelled` by it;
- a run whose pause or cancel Dagster could not carry out (`terminateRun` accepts only QUEUED and
  STARTED runs, so not one still STARTING) reads it when its scan starts and after every
  checkpoint, and stops itself (`hubspot_deals.defs.assets.stop`).

The newest mark naming a run wins: a paused scan that is then cancelled is cancelled. This
module is the format's one owner, shared by the code location and the shim; it imports neither.
The asset is `hubspot_deals.scan.DEALS_ASSET_PATH`.
"""

import re
from collections.abc import Sequence

MARK_KINDS = ("paused", "crashed", "cancelled")
# Marks a run obeys: a pause or cancel that it may have been started with, or that arrived while
# it could not be terminated. (A crash mark comes with a forced cancel: its heartbeat stops it.)
STOP_REQUESTS = ("paused", "cancelled")
_MARK = re.compile(r"^hubspot_deals/(paused|crashed|cancelled) run=([^\s:]+)")


def mark_description(kind: str, run_id: str, detail: str) -> str:
    """A mark's observation text: machine-readable head, readable tail."""
    assert kind in MARK_KINDS
    return f"hubspot_deals/{kind} run={run_id}: {detail}"


def run_marks(descriptions: Sequence[str]) -> dict[str, str]:
    """Run id -> the newest mark naming it, from observation descriptions newest first."""
    marks: dict[str, str] = {}
    for text in descriptions:
        match = _MARK.match(text)
        if match is not None:
            marks.setdefault(match.group(2), match.group(1))
    return marks
