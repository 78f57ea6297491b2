"""The one classification of what stops a scan: its `error_category`, and whether running it
again later can succeed without anyone changing anything (`transient`).

Plain Python (no Dagster), so the load layer's own waiting uses the same rule as the scan's
end: an unavailable destination is waited out within the run (see
`destination.when_destination_free`), DuckDB out of memory is a setting to change. The code
location turns a classification into the Dagster `Failure` the scan ends with
(`hubspot_deals.defs.failures`); the `resume_failed_scans` sensor resumes only transient ones,
and the REST API shows the category.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from duckdb import OutOfMemoryException

from hubspot_deals.load.duckdb_file import DuckDbMemoryLimitError
from hubspot_deals.run_failure import failure_metadata, read_failure_metadata
from hubspot_deals.source.errors import HubSpotError

CONFIGURATION_ERROR = failure_metadata("configuration_error", transient=False)
UNAVAILABLE_CATEGORY = "destination_unavailable"
DESTINATION_UNAVAILABLE = failure_metadata(UNAVAILABLE_CATEGORY, transient=True)

# PostgreSQL SQLSTATEs of a server that cannot serve now but will: 57P01 admin_shutdown, 57P02
# crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, in recovery, not
# accepting connections), 53300 too_many_connections; class 08 is every connection exception.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_UNAVAILABLE_SQLSTATE_CLASSES = ("08",)
# The same conditions as libpq words them: a refused or failed connection carries no SQLSTATE.
_UNAVAILABLE_MESSAGES = (
    "the database system is",  # starting up / shutting down / not (yet, currently) accepting...
    "terminating connection due to administrator command",
    "terminating connection because of crash of another server process",
    "too many clients already",
    "too many connections",  # for database / for role (53300)
    "remaining connection slots are reserved",
    "could not connect to server",
    "connection refused",
    "connection reset",
    "server closed the connection unexpectedly",
    "no connection to the server",
    "connection already closed",
    "could not receive data from server",
    "could not send data to server",
    "ssl connection has been closed unexpectedly",
    "broken pipe",
    # DuckDB: another process holds the file.
    "could not set lock",
    "conflicting lock",
)
MEMORY_SETTING = "HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT"


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every cause or context under it (dlt and Dagster wrap errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def root_message(exc: BaseException) -> str:
    """The innermost error's first line, short enough for a log line."""
    return str(list(error_chain(exc))[-1]).strip().splitlines()[0][:200]


def _sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None) or "")


def destination_unavailable(exc: BaseException) -> bool:
    """The destination cannot be reached or cannot serve yet: PostgreSQL down, restarting,
    refusing or dropping connections, out of connection slots; DuckDB's file locked by another
    process. Waiting can clear it."""
    chain = list(error_chain(exc))
    if any(isinstance(e, HubSpotError) for e in chain):
        return False  # HubSpot's connection errors: the client has retried them already
    for error in chain:
        state = _sqlstate(error)
        if state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_SQLSTATE_CLASSES):
            return True
        if unavailable_message(str(error)):
            return True
    return False


def unavailable_message(text: str) -> bool:
    """Whether an error's text says the destination was unavailable (the rule for errors known
    only by their message, such as a failed step's recorded error)."""
    lowered = text.lower()
    return any(marker in lowered for marker in _UNAVAILABLE_MESSAGES)


def duckdb_out_of_memory(exc: BaseException) -> bool:
    """DuckDB could not load within its memory limit: the same load fails the same way again."""
    return any(
        isinstance(e, DuckDbMemoryLimitError | OutOfMemoryException) for e in error_chain(exc)
    )


@dataclass(frozen=True)
class ScanFailure:
    """Why a scan stopped, as its run reports it: a description for people and the metadata
    (`error_category`, `transient`) that the resume sensor and the REST API read."""

    description: str
    metadata: Mapping[str, str | bool]

    @property
    def category(self) -> str:
        return str(read_failure_metadata(self.metadata)[0])

    @property
    def transient(self) -> bool:
        return read_failure_metadata(self.metadata)[1]


def classify_failure(exc: BaseException) -> ScanFailure | None:
    """What a scan ends with for `exc`, classified; None for an error it does not know (the
    scan raises that as is, and the sensor counts it transient)."""
    hubspot = next((e for e in error_chain(exc) if isinstance(e, HubSpotError)), None)
    if hubspot is not None:
        return ScanFailure(str(hubspot), failure_metadata(hubspot.category, hubspot.transient))
    if duckdb_out_of_memory(exc):
        sized = next((e for e in error_chain(exc) if isinstance(e, DuckDbMemoryLimitError)), None)
        what = str(sized) if sized else root_message(exc)
        above = f"above {sized.limits[-1]}" if sized else "higher"
        return ScanFailure(
            f"DuckDB ran out of memory: {what}. Set {MEMORY_SETTING} {above} (`auto` sizes each "
            "load by its table's width) and run the scan again: it resumes from its last "
            "checkpoint",
            CONFIGURATION_ERROR,
        )
    if destination_unavailable(exc):
        return ScanFailure(
            "the destination stayed unavailable past the scan's patience "
            f"(HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS): {root_message(exc)}",
            DESTINATION_UNAVAILABLE,
        )
    return None
