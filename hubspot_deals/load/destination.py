"""The dlt destination (DuckDB by default, PostgreSQL by configuration) and per-scan pipelines."""

import os
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from hubspot_deals.load.duckdb_file import AttachedDuckDbCredentials, attached_duckdb
from hubspot_deals.load.failures import destination_unavailable, root_message
from hubspot_deals.settings import DATASET_NAME, Settings, get_settings

# dlt settings changed from dlt's defaults; an environment that sets one keeps its own.
DLT_DEFAULTS = {
    # Load files uncompressed. PostgreSQL loads the Arrow chunks as CSV through COPY, and dlt
    # gzipped every file first: half of each load's time (100,000 deals: 7,200 deals/s with
    # gzip, 10,600-11,800 without). DuckDB's Parquet files compress inside the format.
    "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION": "true",
    # Delete a package's files once it is loaded: dlt keeps them, so every chunk of every scan
    # stayed on disk under the pipelines folder (nothing reads them again: a scan resumes from
    # its checkpoint in the destination).
    "LOAD__DELETE_COMPLETED_JOBS": "true",
}


def apply_dlt_defaults() -> None:
    for key, value in DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def make_destination(settings: Settings | None = None) -> Destination:
    settings = settings or get_settings()
    if settings.destination == "postgres":
        # A credentials object (not a DSN string) also accepts passwordless (trust/peer) auth.
        credentials = PostgresCredentials(settings.postgres_dsn.get_secret_value())
        if credentials.password is None:
            credentials.password = ""
        return dlt.destinations.postgres(credentials=credentials)
    settings.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
    # One DuckDB thread: the scan's Python needs the other core; loads are small chunks.
    duckdb_config = {"memory_limit": settings.duckdb_memory(), "threads": 1}
    credentials = AttachedDuckDbCredentials(str(settings.duckdb_file), global_config=duckdb_config)
    # `auto`: each load sizes the limit by the table it writes, as it is at load time.
    credentials.memory_limit_by_width = settings.duckdb_memory_limit == "auto"
    return attached_duckdb(credentials=credentials, destination_name="duckdb")


def make_pipeline(
    pipeline_name: str,
    settings: Settings | None = None,
    pipelines_dir: str | None = None,
    loads: bool = True,
) -> dlt.Pipeline:
    """A pipeline into the destination; one that `loads` sets the dlt defaults above first (in
    the process that loads: the run worker, never a process that only imports definitions)."""
    settings = settings or get_settings()
    if loads:
        apply_dlt_defaults()
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=make_destination(settings),
        dataset_name=DATASET_NAME,
        pipelines_dir=pipelines_dir or str(settings.pipelines_dir),
        progress=None,
    )


# Every process that loads the code location (webserver, daemon, code servers, run workers)
# builds the asset specs from a pipeline at import time; each keeps that pipeline's working
# folder to itself, because dlt's folder setup races when processes start together.
_DEFINITIONS_DIR = tempfile.TemporaryDirectory(prefix="hubspot_deals_definitions_")


def definitions_pipeline(settings: Settings | None = None) -> dlt.Pipeline:
    """The pipeline dagster-dlt derives the asset specs from (it never loads anything)."""
    return make_pipeline(
        "hubspot_deals_definitions", settings, pipelines_dir=_DEFINITIONS_DIR.name, loads=False
    )


T = TypeVar("T")


def when_destination_free(
    action: Callable[[], T], warn: Callable[[str], None], patience_seconds: float | None = None
) -> T:
    """Runs `action`, waiting out an unavailable destination (PostgreSQL down, restarting or
    refusing connections; DuckDB locked by another process) for up to the patience
    (HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS) from its first failure. Past it, the error
    stands."""
    if patience_seconds is None:
        patience_seconds = get_settings().destination_patience_seconds
    deadline: float | None = None
    delay = 1.0
    while True:
        try:
            return action()
        except Exception as exc:
            if not destination_unavailable(exc):
                raise
            now = time.monotonic()
            deadline = deadline or now + patience_seconds
            if now >= deadline:
                raise
            pause = min(delay, deadline - now)
            warn(f"destination busy ({root_message(exc)}); retry in {pause:.0f}s")
            time.sleep(pause)
            delay = min(delay * 2, 15.0)
