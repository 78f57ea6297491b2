"""A scan waits out a destination that another process holds, and still loads exactly."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import dlt
from dagster import DagsterInstance
from dagster_dlt import DagsterDltResource

from hubspot_deals.defs.assets.scan import counted
from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.load.destination import make_pipeline, when_destination_free
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals.source.scan_loop import load_chunk
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.servers import HeldReadConnection
from hubspot_deals_tests.source.standin import StandIn

HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.close()
"""


def test_scan_waits_while_another_process_holds_duckdb(
    instance: DagsterInstance, monkeypatch
) -> None:
    token = fake_token()
    path = get_settings().duckdb_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with StandIn(token) as standin:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", standin.base_url)
        get_settings.cache_clear()
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        outcomes: list = []
        try:
            assert holder.stdout.readline().strip() == "locked"
            scan = threading.Thread(
                target=lambda: outcomes.append(
                    execute_scan(instance, "busy", scan_run_config("org", token))
                )
            )
            scan.start()
            # The file is held until the scan says it waits for it, however slow the machine.
            deadline = time.monotonic() + 300
            while not busy_warnings(instance) and scan.is_alive():
                assert time.monotonic() < deadline, "the scan never waited for the held file"
                time.sleep(0.2)
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        scan.join(timeout=300)
    outcome = outcomes[0]
    assert outcome.success, outcome.error
    assert len(scan_rows("deals", "busy")) == 225
    warnings = busy_warnings(instance)
    assert warnings and "lock" in warnings[0].lower()


def busy_warnings(instance: DagsterInstance) -> list[str]:
    """What the scan's run has logged about waiting for the destination."""
    return [
        record.user_message
        for run in instance.get_runs(limit=1)
        for record in instance.all_logs(run.run_id)
        if "destination busy" in (record.user_message or "")
    ]


def test_a_chunk_that_meets_a_held_file_loads_from_its_package_once_free(
    project_home,
) -> None:
    """Another process takes the file between a chunk's reading and its load: the load waits,
    then loads the package it had made, and the chunk's row counts (which the scan adds up and
    dagster-dlt's metadata reads) are still those of the chunk."""
    pipeline = make_pipeline("held_chunk")
    pipeline.run([{"id": 0}], table_name="deals")  # the file and table exist
    holder: list[HeldReadConnection] = []

    @dlt.resource(name="deals")
    def chunk() -> Iterator[dict[str, int]]:
        yield from ({"id": i} for i in range(1, 251))
        # Read: the file is taken now, before the load opens it.
        holder.append(HeldReadConnection(get_settings().duckdb_file))

    class Log:
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def warning(self, message: str) -> None:
            self.warnings.append(message)
            holder[0].release()  # the reader is done: the next attempt finds the file free

    context = SimpleNamespace(log=Log())
    info, rows = load_chunk(
        pipeline, lambda: chunk(), lambda load: when_destination_free(load, context.log.warning)
    )
    assert not info.has_failed_jobs
    assert len(context.log.warnings) == 1 and "lock" in context.log.warnings[0].lower()
    assert rows == {"deals": 250}
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*), max(id) FROM deals") == [(251, 250)]
    # The load that finished the package normalized nothing: dagster-dlt's metadata reader, given
    # the pipeline itself, fails on it (it failed scans whose rows had all committed); given the
    # scan's own counts, it describes the table.
    assert pipeline.last_trace.last_normalize_info is None
    metadata = DagsterDltResource().extract_resource_metadata(
        context,  # type: ignore[arg-type]
        chunk(),
        info,
        counted(pipeline, rows),
    )
    assert metadata["rows_loaded"].value == 250
    assert [c.name for c in metadata["dagster/column_schema"].columns][:1] == ["id"]
