"""DuckDB's single writer, serialized by Dagster: the ops that write the file share one pool slot.

DuckDB lets one process write its file at a time; a second writer fails at once on the file's
lock. So with the DuckDB destination the scan op and `deals_current` run in the Dagster pool
`hubspot_deals/duckdb_writer`, whose limit the code location keeps at one slot itself (the
`duckdb_writer_pool` sensor): however many runs the instance allows at once, one scan or rebuild
writes at a time, and the others wait queued. A pool's limit lives in the instance's storage, not
in code, and Dagster frees a slot only when its step ends in a live worker, so the same sensor
frees the slots of runs that ended without doing so (a killed worker). PostgreSQL takes
concurrent writers: there the ops have no pool.
"""

from dagster import DagsterInstance, RunsFilter
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from hubspot_deals.settings import Settings, get_settings

WRITER_POOL = "hubspot_deals/duckdb_writer"
WRITER_SLOTS = 1


def writer_pool(settings: Settings | None = None) -> str | None:
    """The pool of the ops that write the destination: DuckDB's, or none for PostgreSQL."""
    return WRITER_POOL if (settings or get_settings()).destination == "duckdb" else None


def keep_writer_pool(instance: DagsterInstance) -> tuple[bool, list[str]]:
    """Sets the writer pool to one slot (if it had another limit or none) and frees the slots
    that runs which already ended still hold. Returns (limit changed, runs whose slots were freed).
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return False, []
    info = storage.get_concurrency_info(WRITER_POOL)
    changed = info.slot_count != WRITER_SLOTS or info.limit != WRITER_SLOTS
    if changed:
        storage.set_concurrency_slots(WRITER_POOL, WRITER_SLOTS)
    holders = sorted({slot.run_id for slot in info.claimed_slots})
    ended = (
        [
            record.dagster_run.run_id
            for record in instance.get_run_records(
                RunsFilter(run_ids=holders, statuses=list(FINISHED_STATUSES))
            )
        ]
        if holders
        else []
    )
    for run_id in ended:
        storage.free_concurrency_slots_for_run(run_id)
    return changed, sorted(ended)


def runs_waiting_for_writer(instance: DagsterInstance) -> set[str]:
    """Runs with a step waiting for the writer pool's slot: started, but rightly silent."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    info = storage.get_concurrency_info(WRITER_POOL)
    return {step.run_id for step in info.pending_steps if step.assigned_timestamp is None}
