"""Shared fixtures: an isolated project home, a real Dagster instance, scan helpers."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from hubspot_deals.settings import DATASET_NAME, get_settings

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def fake_token() -> str:
    """A token made at run time (nothing token-like is kept in the repository)."""
    return "pat-test-" + secrets.token_hex(12)


@pytest.fixture
def project_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HUBSPOT_DEALS_HOME and DAGSTER_HOME in a temp folder; DuckDB destination."""
    home = tmp_path / "home"
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("HUBSPOT_DEALS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("HUBSPOT_DEALS_DESTINATION", "duckdb")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("HUBSPOT_DEALS_ENCRYPTION_KEY", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def instance(project_home: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.get() as inst:
        yield inst


def postgres_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:
        return False


def require_postgres() -> str:
    if not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required under CI=true")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    return PG_DSN


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A database of the caller's own, dropped afterwards: tests in other processes (pytest's
    workers, other sessions) drop the dataset schema of the databases they use."""
    import psycopg2

    admin = psycopg2.connect(require_postgres())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_destination(project_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """PostgreSQL as the destination, in a database of this test's own."""
    with postgres_database(f"hubspot_deals_destination_{os.getpid()}") as dsn:
        monkeypatch.setenv("HUBSPOT_DEALS_DESTINATION", "postgres")
        monkeypatch.setenv("HUBSPOT_DEALS_POSTGRES_DSN", dsn)
        get_settings.cache_clear()
        yield dsn
        get_settings.cache_clear()


def scan_rows(table: str, scan_id: str, order_by: str = "id") -> list[dict[str, Any]]:
    """All rows of a scan's table from the configured destination, as dicts."""
    from hubspot_deals.load.reads import destination_connection

    settings = get_settings()
    marker = "%s" if settings.destination == "postgres" else "?"
    with destination_connection() as conn:
        cur = conn.cursor()
        cur.execute(
            f'SELECT * FROM {DATASET_NAME}."{table}" WHERE _scan_id = {marker} ORDER BY {order_by}',
            (scan_id,),
        )
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, project_home: Path):
    """The independent HubSpot stand-in, with HUBSPOT_API_BASE_URL pointing at it."""
    from hubspot_deals_tests.source.standin import StandIn

    token = fake_token()
    with StandIn(token) as s:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", s.base_url)
        get_settings.cache_clear()
        s.token_for_tests = token
        yield s
