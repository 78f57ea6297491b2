"""How a failed scan run reads: its readable cause, its error category and whether its worker
died, from the run's failure events given as plain data.

One reader for everyone who shows why a scan failed: the REST shim (from Dagster's GraphQL
events, `api_shim.dagster.failures`) and the in-process launch of the CLI and tests (from
Dagster's event objects, `hubspot_deals.defs.launch`). The scan raises a Dagster `Failure`
whose description is written for people and whose metadata carries the `error_category`
(`hubspot_deals.load.failures`); any other error reads as its innermost cause, without module
path or traceback. Plain Python: no Dagster, so the shim and the load layer can import it.

It owns the metadata labels of a scan failure (`CATEGORY_LABEL`, `TRANSIENT_LABEL`): the load
layer writes them (`failure_metadata`), the resume sensor and the shim read them here.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The metadata labels of a scan failure (`hubspot_deals.load.failures`): its category, and
# whether running the scan again later can succeed unchanged (the resume sensor's question).
CATEGORY_LABEL = "error_category"
TRANSIENT_LABEL = "transient"
# A step subprocess killed from outside (OOM killer, kill -9) fails the run with these classes.
CRASH_CLASSES = frozenset({"ChildProcessCrashException", "DagsterExecutionInterruptedError"})
# The code server's engine event when a run worker it started dies (kill -9, OOM killer).
WORKER_DIED = re.compile(
    r"Run execution process for \S+ (was terminated by signal|unexpectedly exited)"
)


@dataclass(frozen=True)
class StepError:
    """One error of a step failure's chain: its class name and message."""

    class_name: str | None
    message: str | None


@dataclass(frozen=True)
class StepFailure:
    """A failed step: its error chain (outermost first), and a `Failure`'s description and
    category when the scan raised one. `user_code`: Dagster blamed the scan's own code."""

    errors: Sequence[StepError]
    description: str | None = None
    category: str | None = None
    user_code: bool = False


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed, as readable as its events allow."""

    message: str | None
    category: str | None = None
    crashed: bool = False


def failure_metadata(category: str, transient: bool) -> dict[str, str | bool]:
    """The metadata a scan's `Failure` carries: its category and whether it is transient."""
    return {CATEGORY_LABEL: category, TRANSIENT_LABEL: transient}


def read_failure_metadata(metadata: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A failed step's category (None without one) and whether it is transient, from its
    `Failure`'s metadata: plain values, or Dagster's metadata values (read through `.value`)."""
    category, transient = (
        getattr(value, "value", value)
        for value in (metadata.get(CATEGORY_LABEL), metadata.get(TRANSIENT_LABEL))
    )
    return (None if category is None else str(category)), bool(transient)


def short_error(message: str) -> str:
    """`pkg.module.ErrorClass: text` -> `ErrorClass: text`, first paragraph, no traceback, on
    one line."""
    text = message.strip().split("\n\n")[0].strip()
    head, sep, rest = text.partition(": ")
    if sep and "." in head and " " not in head:
        text = head.rsplit(".", 1)[1] + ": " + rest
    return " ".join(text.split())


def step_cause(step: StepFailure) -> str | None:
    """The readable cause of a failed step: the `Failure`'s description, else its innermost
    error's message, shortened."""
    if step.description:
        return step.description
    innermost = step.errors[-1] if step.errors else None
    if innermost is not None and innermost.message:
        return short_error(innermost.message)
    return None


def read_run_failure(
    step: StepFailure | None,
    run_error: str | None = None,
    run_failed: bool = False,
    error_logs: Sequence[str] = (),
    worker_died: str | None = None,
) -> RunFailure:
    """A failed run's cause from its first failed step, its run failure event (`run_failed`,
    with its error's message `run_error`), its ERROR log messages and the code server's report
    that its worker died (`worker_died`)."""
    if worker_died is not None and step is None:
        return RunFailure(short_error(worker_died), crashed=True)
    if step is not None:
        classes = {e.class_name for e in step.errors}
        crashed = bool(classes & CRASH_CLASSES) and not step.user_code
        cause = step_cause(step)
        if cause:
            return RunFailure(cause, step.category, crashed)
    if run_error:
        return RunFailure(short_error(run_error))
    # No step failed and the run reports no error of its own: it was marked failed from outside
    # because its worker died (the code server's or a monitor's report, whatever its wording).
    marked_from_outside = step is None and run_failed
    if error_logs:
        return RunFailure(short_error(error_logs[-1]), crashed=marked_from_outside)
    return RunFailure(message=None, crashed=marked_from_outside)
