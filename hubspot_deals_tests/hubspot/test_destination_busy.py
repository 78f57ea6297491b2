"""A scan waits out a destination that another process holds, and still loads exactly."""

import subprocess
import sys

from dagster import DagsterInstance

from hubspot_deals.launch import execute_scan, scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.hubspot.standin import StandIn

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
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
            [sys.executable, "-c", HOLD, str(path), "3"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "locked"
            outcome = execute_scan(instance, "busy", scan_run_config("org", token))
        finally:
            holder.wait(timeout=30)
    assert outcome.success, outcome.error
    assert len(scan_rows("deals", "busy")) == 225
    warnings = [
        r.user_message for r in instance.all_logs(outcome.run_id)
        if "destination busy" in (r.user_message or "")
    ]  # fmt: skip
    assert warnings and "lock" in warnings[0].lower()
