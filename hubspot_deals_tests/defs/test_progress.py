"""A scan's progress tags, written to a real Dagster instance (SQLite files in a temp folder:
the progress thread writes while the test reads, which an in-memory instance's shared table lock
refuses on a busy machine)."""

import time
from pathlib import Path
from types import SimpleNamespace

from dagster import DagsterInstance, DagsterRun

from hubspot_deals.defs.assets.progress import ScanProgress
from hubspot_deals.scan import Tag


def stored_tags(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return dict(run.tags)


def test_a_count_held_back_by_the_interval_is_written_once_the_interval_passes(
    tmp_path: Path,
) -> None:
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        run = instance.add_run(DagsterRun(job_name="scan_job", run_id="progress-run"))
        context = SimpleNamespace(instance=instance, run=run, log=None)
        progress = ScanProgress(context, every_seconds=0.5, heartbeat_seconds=60)  # type: ignore[arg-type]
        with progress:
            progress(0, 360)
            assert stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "0"
            assert stored_tags(instance, run.run_id)[Tag.EXPECTED_RECORDS] == "360"
            progress(100, 360)  # within the interval: held back...
            progress(200, 360)  # ...and replaced by the newer count; then the scan stalls
            assert stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "0"
            deadline = time.monotonic() + 10
            while stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "0":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "200"
            time.sleep(1.2)  # nothing pending any more: nothing rewritten
            assert stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "200"
            progress(300, 360)  # the interval has passed: written at once
            assert stored_tags(instance, run.run_id)[Tag.RECORDS_EXTRACTED] == "300"
