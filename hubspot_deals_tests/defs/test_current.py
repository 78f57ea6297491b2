"""`deals_current` after a full scan, edits and incremental scans; the sensor that rebuilds it."""

import threading
import time
from datetime import datetime
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, RunRequest, build_run_status_sensor_context

from hubspot_deals.defs.definitions import defs
from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.defs.partitions import organizations_partitions
from hubspot_deals.defs.sensors import deals_current_on_scan_success
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.expected import hubspot_deals_now, typed
from hubspot_deals_tests.servers import HeldReadConnection
from hubspot_sandbox.process import SandboxServer


def current_rows(org: str) -> dict[str, dict]:
    from hubspot_deals.load.reads import DestinationReader

    reader = DestinationReader()
    with reader.connect() as conn:
        cur = conn.cursor()
        cur.execute(
            f"SELECT * FROM {reader.table('deals_current')} WHERE _organization_id = ?", (org,)
        )
        names = [c[0] for c in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def rebuild(instance: DagsterInstance, org: str) -> dict:
    result = defs.resolve_job_def("deals_current_job").execute_in_process(
        instance=instance, partition_key=org
    )
    assert result.success
    mat = result.asset_materializations_for_node("hubspot__deals_current")[0]
    return {k: v.value for k, v in mat.metadata.items()}


def assert_equals_hubspot(org: str, sandbox: SandboxServer, token: str) -> int:
    definitions = {d["name"]: d for d in sandbox.account().property_definitions()}
    expected = hubspot_deals_now(sandbox.base_url, token)
    rows = current_rows(org)
    assert sorted(rows) == sorted(d["id"] for d in expected)
    for deal in expected:
        row = rows[deal["id"]]
        assert row["archived"] == deal["archived"], deal["id"]
        if deal["archived"]:
            assert row["archived_at"] == datetime.fromisoformat(deal["archivedAt"])
        for name, raw in deal["properties"].items():
            assert row[name] == typed(definitions[name], raw), (deal["id"], name)
    return len(expected)


@pytest.mark.slow
def test_current_after_full_edits_and_two_incrementals(
    instance: DagsterInstance, monkeypatch, project_home
) -> None:
    token = fake_token()
    org = "org-current"
    with SandboxServer(deals=3000, seed=41, tokens=[token]) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        full = execute_scan(instance, "c-full", scan_run_config(org, token, include_archived=True))
        assert full.success, full.error
        meta = rebuild(instance, org)
        assert meta["base_scan"] == "c-full" and meta["dagster/row_count"] == 3000
        assert assert_equals_hubspot(org, sandbox, token) == 3000

        live = sandbox.account().live_deal_ids()
        sandbox.admin("POST", "deals/modify",
                      {"ids": live[:20], "properties": {"dealstage": "closedlost"}})  # fmt: skip
        sandbox.admin("POST", "deals/archive", {"ids": live[100:105]})
        created = sandbox.admin("POST", "deals/create", {"count": 7})["ids"]
        inc1 = execute_scan(
            instance, "c-inc-1", scan_run_config(org, token, scan_type="incremental")
        )
        assert inc1.success, inc1.error

        sandbox.admin("POST", "deals/bulk-edit",
                      {"property": "amount", "value": "12.5", "ids": live[200:250]})  # fmt: skip
        sandbox.admin("POST", "deals/modify",
                      {"ids": live[:3], "properties": {"dealname": "Renamed"}})  # fmt: skip
        sandbox.admin("POST", "deals/archive", {"ids": created[:2]})
        inc2 = execute_scan(
            instance, "c-inc-2", scan_run_config(org, token, scan_type="incremental")
        )
        assert inc2.success, inc2.error

        meta = rebuild(instance, org)
        assert [s["scan_id"] for s in meta["scans"]] == ["c-full", "c-inc-1", "c-inc-2"]
        assert assert_equals_hubspot(org, sandbox, token) == 3007
        rows = current_rows(org)
    assert {rows[i]["dealname"] for i in live[:3]} == {"Renamed"}
    assert {rows[i]["archived"] for i in created[:2] + live[100:105]} == {True}


def test_sensor_requests_a_rebuild_for_the_scans_organization(
    instance: DagsterInstance, monkeypatch, project_home
) -> None:
    token = fake_token()
    with SandboxServer(deals=200, seed=42, tokens=[token]) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        outcome = execute_scan(instance, "s-1", scan_run_config("org-sensor", token))
        assert outcome.success
    run = instance.get_run_by_id(outcome.run_id)
    event = (
        instance.get_records_for_run(outcome.run_id, of_type=DagsterEventType.RUN_SUCCESS)
        .records[0]
        .event_log_entry.dagster_event
    )
    context = build_run_status_sensor_context(
        sensor_name=deals_current_on_scan_success.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
    )
    request = deals_current_on_scan_success(context)
    assert isinstance(request, RunRequest)
    assert request.partition_key == "org-sensor"
    assert request.run_key == f"current-{outcome.run_id}"
    assert instance.has_dynamic_partition(organizations_partitions.name, "org-sensor")


def test_rebuild_waits_out_a_read_connection_held_by_another_process(
    instance: DagsterInstance, monkeypatch, project_home
) -> None:
    """The API (or an analyst) reading the file when a scan completes: the rebuild waits for the
    file instead of failing at once, and succeeds once the reader lets go."""
    token = fake_token()
    org = "org-held"
    with SandboxServer(deals=300, seed=43, tokens=[token]) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        full = execute_scan(instance, "h-full", scan_run_config(org, token, include_archived=True))
        assert full.success, full.error
    outcome: dict[str, Any] = {}

    def rebuild_in_background() -> None:
        outcome["result"] = defs.resolve_job_def("deals_current_job").execute_in_process(
            instance=instance, partition_key=org, raise_on_error=False
        )

    with HeldReadConnection(get_settings().duckdb_file) as reader:
        worker = threading.Thread(target=rebuild_in_background)
        worker.start()
        deadline = time.monotonic() + 120
        while not busy_warnings(instance):
            assert worker.is_alive(), "the rebuild ended without waiting for the held file"
            assert time.monotonic() < deadline, "no 'destination busy' wait in 120 s"
            time.sleep(0.2)
        reader.release()
        worker.join(timeout=180)
    result = outcome["result"]
    assert result.success
    mat = result.asset_materializations_for_node("hubspot__deals_current")[0]
    assert mat.metadata["dagster/row_count"].value == 300
    assert len(current_rows(org)) == 300
    assert busy_warnings(instance, result.run_id)


def busy_warnings(instance: DagsterInstance, run_id: str | None = None) -> list[str]:
    """The 'destination busy' warnings of deals_current runs (or of one run)."""
    runs = (
        [run_id]
        if run_id
        else [r.run_id for r in instance.get_runs() if r.job_name == "deals_current_job"]
    )
    return [
        entry.user_message
        for rid in runs
        for entry in instance.all_logs(rid)
        if entry.user_message.startswith("destination busy")
    ]
