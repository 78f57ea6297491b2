"""A failed run's cause, from Dagster's GraphQL events (`logsForRun`), read by the one rule of
`hubspot_deals.run_failure`; this module only turns the GraphQL shapes into its plain data and
redacts what leaves the API."""

from dataclasses import replace
from typing import Any

from api_shim.errors import redact
from hubspot_deals.run_failure import (
    CATEGORY_LABEL,
    WORKER_DIED,
    RunFailure,
    StepError,
    StepFailure,
    read_run_failure,
)

# The longest failure message the API shows.
MAX_MESSAGE = 1000


def step_failure(event: dict[str, Any]) -> StepFailure:
    """An `ExecutionStepFailureEvent` as the rule's plain data."""
    error = event.get("error") or {}
    chain = [error, *(error.get("causes") or [])]
    meta = event.get("failureMetadata") or {}
    category = next(
        (
            e.get("text")
            for e in meta.get("metadataEntries") or []
            if e.get("label") == CATEGORY_LABEL
        ),
        None,
    )
    return StepFailure(
        errors=[StepError(e.get("className"), e.get("message")) for e in chain],
        description=meta.get("description"),
        category=category,
        user_code=event.get("errorSource") == "USER_CODE_ERROR",
    )


class FailureEvents:
    """What a run's events say about its failure, gathered page by page."""

    def __init__(self) -> None:
        self.step: dict[str, Any] | None = None
        self.run: dict[str, Any] | None = None
        self.worker_died: str | None = None
        self.error_logs: list[str] = []

    def add(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event["__typename"]
            if kind == "ExecutionStepFailureEvent" and self.step is None:
                self.step = event
            elif kind == "RunFailureEvent":
                self.run = event
            elif WORKER_DIED.match(event.get("message") or ""):
                self.worker_died = event["message"]
            elif event.get("level") == "ERROR" and event.get("message"):
                self.error_logs.append(event["message"])

    def failure(self) -> RunFailure:
        return failure_from_events(self.step, self.run, self.error_logs, self.worker_died)


def failure_from_events(
    step: dict[str, Any] | None,
    run: dict[str, Any] | None,
    error_logs: list[str],
    worker_died: str | None = None,
) -> RunFailure:
    """The run's failure from its first step failure event, its run failure event, its ERROR
    log messages and the code server's report that its worker died, redacted for clients."""
    failure = read_run_failure(
        step_failure(step) if step is not None else None,
        run_error=((run or {}).get("error") or {}).get("message"),
        run_failed=run is not None,
        error_logs=error_logs,
        worker_died=worker_died,
    )
    if failure.message is None:
        return failure
    return replace(failure, message=redact(failure.message)[:MAX_MESSAGE])
