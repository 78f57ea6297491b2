"""A scan run obeys the pause or cancel requested for it, even one Dagster could not deliver.

Dagster's `terminateRun` stops only QUEUED and STARTED runs: a run still STARTING (its worker
loading the code location) refuses it, and so would a run whose termination got lost. The REST
API therefore records every pause and cancel first, as a mark naming the run
(`hubspot_deals.marks`), in Dagster's own event log. The scan reads its run's marks before it
touches anything and after every committed checkpoint; on finding a pause or cancel it stops
itself the way Dagster's termination does: it reports the run CANCELING and ends its step, and
Dagster ends the run CANCELED. The mark then tells the API `paused` from `cancelled`, and a
paused scan resumes from the checkpoint it committed last, as after any other pause.
"""

from dagster import AssetExecutionContext, AssetRecordsFilter, DagsterRunStatus, Failure

from hubspot_deals.defs.assets import DEALS_KEY
from hubspot_deals.marks import STOP_REQUESTS, run_marks

# Marks of one scan partition are few (one per pause, cancel or crash): the newest 100 suffice.
MARKS_READ = 100
RUNNING = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}


def stop_request(context: AssetExecutionContext) -> str | None:
    """`paused` or `cancelled` when a pause or cancel names this run, else None."""
    records = context.instance.fetch_observations(
        AssetRecordsFilter(asset_key=DEALS_KEY, asset_partitions=[context.partition_key]),
        limit=MARKS_READ,
    ).records
    descriptions = []
    for record in records:
        observation = record.asset_observation
        if observation is not None and observation.description:
            descriptions.append(observation.description)
    mark = run_marks(descriptions).get(context.run.run_id)
    return mark if mark in STOP_REQUESTS else None


def stop_if_requested(context: AssetExecutionContext, where: str) -> None:
    """Stops the scan here when its run has a pause or cancel request: Dagster then ends the run
    CANCELED. `where` says what the scan has committed, for the run's log."""
    kind = stop_request(context)
    if kind is None:
        return
    instance, run_id = context.instance, context.run.run_id
    run = instance.get_run_by_id(run_id)
    message = f"scan {context.partition_key} {kind} through the REST API: stopping {where}"
    context.log.info(message)
    if run is not None and run.status in RUNNING:
        # What Dagster's own termination reports first; a step that fails after it ends the
        # run CANCELED, not FAILURE (no run retry, no failure sensor).
        instance.report_run_canceling(run, message=message)
    raise Failure(description=message, allow_retries=False)
