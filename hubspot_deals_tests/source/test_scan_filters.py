"""Scan filters, reruns, destinations and auth failures, against the independent stand-in."""

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dlt.common.configuration import resolve_configuration
from dlt.common.data_writers.buffered import BufferedDataWriter

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.load.destination import DLT_DEFAULTS, apply_dlt_defaults
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows


def _created_day(deal: dict) -> date:
    return datetime.fromisoformat(deal["properties"]["createdate"]).astimezone(UTC).date()


@pytest.mark.slow
def test_property_selection_loads_only_those_columns(instance: DagsterInstance, standin) -> None:
    cfg = scan_run_config("org", standin.token_for_tests, properties=["amount", "dealstage"])
    assert execute_scan(instance, "props", cfg).success
    rows = scan_rows("deals", "props")
    assert len(rows) == 225
    property_columns = {
        k for k in rows[0] if not k.startswith("_") and k not in
        {"id", "created_at", "updated_at", "archived", "archived_at"}
    }  # fmt: skip
    # HubSpot always adds the id, create and modified dates; nothing else was requested.
    assert property_columns == {
        "amount", "dealstage", "hs_object_id", "createdate", "hs_lastmodifieddate"
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("include_archived", [False, True])
def test_archived_on_and_off(instance: DagsterInstance, standin, include_archived: bool) -> None:
    cfg = scan_run_config("org", standin.token_for_tests, include_archived=include_archived)
    assert execute_scan(instance, "arch", cfg).success
    rows = scan_rows("deals", "arch")
    expected = standin.deals if include_archived else standin.live()
    assert [r["id"] for r in rows] == sorted(d["id"] for d in expected)
    assert sum(r["archived"] for r in rows) == (25 if include_archived else 0)
    if include_archived:
        archived = [r for r in rows if r["archived"]]
        assert all(r["archived_at"] is not None for r in archived)


def test_date_range_is_inclusive_at_both_edges(instance: DagsterInstance, standin) -> None:
    # Deal 10 is created 2022-03-31T10:00:00.110Z and deal 40 on 2022-06-29T16:00:00.440Z:
    # a range on exactly those days must include both, and nothing a day outside.
    start, end = _created_day(standin.deals[10]), _created_day(standin.deals[40])
    assert (start, end) == (date(2022, 3, 31), date(2022, 6, 29))
    cfg = scan_run_config(
        "org", standin.token_for_tests, include_archived=True,
        start_date=start.isoformat(), end_date=end.isoformat(),
    )  # fmt: skip
    assert execute_scan(instance, "dates", cfg).success
    rows = scan_rows("deals", "dates")
    expected = sorted(d["id"] for d in standin.deals if start <= _created_day(d) <= end)
    assert [r["id"] for r in rows] == expected
    assert len(expected) == 31  # deals 10..40: every third day over 91 days
    assert "POST /crm/v3/objects/deals/search" in standin.requests


def test_single_day_range(instance: DagsterInstance, standin) -> None:
    day = _created_day(standin.deals[7]).isoformat()
    cfg = scan_run_config("org", standin.token_for_tests, start_date=day, end_date=day)
    assert execute_scan(instance, "one-day", cfg).success
    assert [r["id"] for r in scan_rows("deals", "one-day")] == [standin.deals[7]["id"]]


@pytest.mark.slow
def test_rerun_does_not_duplicate_rows(instance: DagsterInstance, standin) -> None:
    cfg = scan_run_config("org", standin.token_for_tests, include_archived=True)
    assert execute_scan(instance, "again", cfg).success
    assert execute_scan(instance, "again", cfg).success
    for table, count in {"deals": 250, "users": 1, "pipelines": 1, "pipeline_stages": 4}.items():
        assert len(scan_rows(table, "again")) == count, table
    # Another scan of the same account keeps its own rows beside the first one's.
    assert execute_scan(instance, "other", cfg).success
    assert len(scan_rows("deals", "again")) == len(scan_rows("deals", "other")) == 250


def test_unknown_token_fails_with_readable_error_without_the_token(
    instance: DagsterInstance, standin, capfd
) -> None:
    wrong = fake_token()
    outcome = execute_scan(instance, "bad-token", scan_run_config("org", wrong))
    assert not outcome.success
    assert outcome.error.startswith(
        "HubSpot rejected the access token (401 INVALID_AUTHENTICATION)"
    )
    out, err = capfd.readouterr()
    assert wrong not in outcome.error and wrong not in out and wrong not in err
    run = instance.get_run_by_id(outcome.run_id)
    assert wrong not in str(run.run_config) and wrong not in str(run.tags)
    for record in instance.all_logs(outcome.run_id):
        assert wrong not in str(record.user_message)


def test_missing_token_fails_clearly(instance: DagsterInstance, standin) -> None:
    outcome = execute_scan(instance, "no-token", scan_run_config("org", None))
    assert not outcome.success
    assert "no HubSpot access token" in outcome.error


def test_token_from_environment_when_config_has_none(
    instance: DagsterInstance, standin, monkeypatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", standin.token_for_tests)
    from hubspot_deals.settings import get_settings

    get_settings.cache_clear()
    assert execute_scan(instance, "env-token", scan_run_config("org", None)).success
    assert len(scan_rows("deals", "env-token")) == 225


@pytest.mark.postgres
def test_postgres_destination_same_rows(
    instance: DagsterInstance, standin, postgres_destination
) -> None:
    cfg = scan_run_config("org-pg", standin.token_for_tests, include_archived=True)
    assert execute_scan(instance, "pg-scan", cfg).success
    assert execute_scan(instance, "pg-scan", cfg).success  # rerun: still no duplicates
    rows = scan_rows("deals", "pg-scan")
    assert [r["id"] for r in rows] == sorted(d["id"] for d in standin.deals)
    by_id = {r["id"]: r for r in rows}
    d9 = standin.deals[9]
    assert by_id[d9["id"]]["dealname"] == d9["properties"]["dealname"]
    assert by_id[d9["id"]]["amount"] == float(d9["properties"]["amount"])
    assert by_id[d9["id"]]["is_hot"] is True
    assert by_id[standin.deals[0]["id"]]["renewal_date"] is None
    assert by_id[standin.deals[1]["id"]]["renewal_date"] == date(2024, 1, 2)
    # The loads' files (CSV for COPY) were deleted once loaded; only dlt's state is left.
    assert load_files(get_settings().pipelines_dir) == []


def load_files(pipelines_dir: Path) -> list[str]:
    """dlt's job files (in a package's new_, started_, completed_ or failed_jobs folder)."""
    jobs = (p for p in pipelines_dir.rglob("*") if p.parent.name.endswith("_jobs"))
    return sorted(str(p) for p in jobs if p.is_file())


def test_duckdb_scan_leaves_no_load_files(instance: DagsterInstance, standin) -> None:
    assert execute_scan(instance, "files", scan_run_config("org", standin.token_for_tests)).success
    assert len(scan_rows("deals", "files")) == 225
    assert load_files(get_settings().pipelines_dir) == []


def test_dlt_defaults_apply_unless_the_environment_sets_them(monkeypatch) -> None:
    monkeypatch.setenv("NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION", "unset below")
    monkeypatch.delenv("NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION")  # restored after the test
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")
    apply_dlt_defaults()
    writer = BufferedDataWriter.BufferedDataWriterConfiguration
    assert resolve_configuration(writer(), sections=("normalize",)).disable_compression is True
    assert DLT_DEFAULTS["LOAD__DELETE_COMPLETED_JOBS"] == "true"
    assert os.environ["LOAD__DELETE_COMPLETED_JOBS"] == "false"  # the environment's own stands
