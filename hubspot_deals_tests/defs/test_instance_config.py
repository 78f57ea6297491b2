"""The production dagster.yaml against PostgreSQL: storage, queue limits, and a scan run in it."""

import shutil

import psycopg2
import pytest
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals_tests.conftest import PG_DSN, fake_token, postgres_available, scan_rows
from hubspot_deals_tests.servers import REPO
from hubspot_deals_tests.source.standin import StandIn

DAGSTER_DB = "hubspot_deals_dagster_test"


@pytest.fixture
def dagster_pg_url():
    if not postgres_available():
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required under CI=true")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DAGSTER_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DAGSTER_DB}")
    yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DAGSTER_DB}"
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DAGSTER_DB} WITH (FORCE)")
    conn.close()


@pytest.mark.postgres
def test_production_instance_runs_a_scan_in_postgres(
    project_home, monkeypatch, dagster_pg_url
) -> None:
    dagster_home = project_home / "dagster_home"
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg_url)
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 8
        assert queue.tag_concurrency_limits == [
            {"key": "hubspot_deals/organization_id",
             "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]  # fmt: skip
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        token = fake_token()
        with StandIn(token) as standin:
            monkeypatch.setenv("HUBSPOT_API_BASE_URL", standin.base_url)
            outcome = execute_scan(instance, "pg-instance", scan_run_config("org", token))
        assert outcome.success, outcome.error
        assert instance.get_run_by_id(outcome.run_id).tags["hubspot_deals/organization_id"] == "org"
    assert len(scan_rows("deals", "pg-instance")) == 225
    with psycopg2.connect(dagster_pg_url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == 1
