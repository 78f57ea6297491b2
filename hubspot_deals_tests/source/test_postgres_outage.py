"""A PostgreSQL outage mid-scan: the scan waits it out within its run and its rows end exact,
never duplicated. The outage is a TCP proxy in front of the machine's PostgreSQL that cuts every
connection and then refuses, resets or answers new ones as a restarting server does."""

import threading
import time
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy.exc
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.defs.sensors import failure_of
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.postgres_proxy import NOT_ACCEPTING, PostgresProxy
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_postgres(postgres_destination: str, monkeypatch) -> Iterator[PostgresProxy]:
    host_port, database = postgres_destination.rsplit("@", 1)[1].split("/", 1)
    host, port = host_port.split(":")
    with PostgresProxy((host, int(port))) as proxy:
        monkeypatch.setenv(
            "HUBSPOT_DEALS_POSTGRES_DSN", f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
        )
        monkeypatch.setenv("HUBSPOT_DEALS_CHECKPOINT_DEALS", "1000")
        get_settings.cache_clear()
        yield proxy


def when_served(sandbox: SandboxServer, deals: int) -> None:
    """Returns once the sandbox has served `deals` deals: the scan is part-way."""
    deadline = time.monotonic() + 300
    while requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()["dealsServed"] < deals:
        assert time.monotonic() < deadline, "the scan did not get going"
        time.sleep(0.02)


def outage_warnings(instance: DagsterInstance, run_id: str) -> list[str]:
    return [
        r.user_message
        for r in instance.all_logs(run_id)
        if (r.user_message or "").startswith("destination busy")
    ]


def scan_during_outage(
    instance: DagsterInstance,
    monkeypatch,
    proxy: PostgresProxy,
    phases: list[tuple[str, float]],
    until_the_scan_ends: bool = False,
) -> tuple[object, list[str], list[float], list[str]]:
    """Scans 8,000 deals while the proxy plays `phases` (mode, seconds) from the 3,000th deal on;
    returns the outcome, the deals' ids HubSpot has, when the outage ended, and its warnings.

    A phase lasts its seconds and, past them, until the scan has met it (the proxy answered a
    connection in that mode; for `refused`, which nothing answers, a "Connection refused"
    warning of the run): however busy the machine, the scan meets each kind.
    `until_the_scan_ends` ends the outage as soon as the scan has returned (a scan that gave up
    has nothing left to wait for)."""
    token = fake_token()
    with SandboxServer(deals=8_000, seed=17, tokens=[token], latency_ms=10) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        restored_at: list[float] = []
        scan_ended = threading.Event()

        def met(mode: str) -> bool:
            if mode != "refused":
                return proxy.answered[mode] > 0
            try:
                runs = instance.get_runs(limit=1)
                warned = outage_warnings(instance, runs[0].run_id) if runs else []
            except sqlalchemy.exc.OperationalError:  # SQLite busy with the run's own writes
                return False
            return any("Connection refused" in w for w in warned)

        def outage() -> None:
            when_served(sandbox, 3_000)
            for mode, seconds in phases:
                proxy.outage(mode)
                deadline = time.monotonic() + seconds
                while not (until_the_scan_ends and scan_ended.is_set()) and (
                    time.monotonic() < deadline or not (scan_ended.is_set() or met(mode))
                ):
                    scan_ended.wait(0.1 if time.monotonic() < deadline else 0.5)
            proxy.restore()
            restored_at.append(time.monotonic())

        cutter = threading.Thread(target=outage, daemon=True)
        cutter.start()
        try:
            outcome = execute_scan(instance, "outage", scan_run_config("org", token, None, True))
        finally:
            scan_ended.set()
        cutter.join(sum(s for _, s in phases) + 30)
        account = sandbox.account()
    expected = sorted(account.live_deal_ids() + account.archived_deal_ids())
    return outcome, expected, restored_at, outage_warnings(instance, outcome.run_id)


def test_postgres_outage_mid_scan_is_waited_out_with_exact_rows(
    instance: DagsterInstance, monkeypatch, proxied_postgres: PostgresProxy
) -> None:
    outcome, expected, restored_at, warnings = scan_during_outage(
        instance, monkeypatch, proxied_postgres, [("refused", 4)]
    )
    assert outcome.success, outcome.error
    assert any("Connection refused" in w for w in warnings), warnings
    assert restored_at and restored_at[0] < time.monotonic()
    ids = [r["id"] for r in scan_rows("deals", "outage")]
    assert ids == expected
    assert outcome.deals_metadata["rows_loaded"] == len(expected) == 8_000


@pytest.mark.slow
def test_postgres_unavailable_for_a_minute_is_waited_out_in_one_run(
    instance: DagsterInstance, monkeypatch, proxied_postgres: PostgresProxy
) -> None:
    """Refused, then reset, then answered "not currently accepting connections" (57P03), 20 s
    each (and each until the scan met it): long enough that the retries' delay reaches its
    15-second cap, within the 2 minutes' patience, so the one run completes with every deal
    once."""
    phases = [("refused", 20), ("reset", 20), ("not_accepting", 20)]
    outcome, expected, restored_at, warnings = scan_during_outage(
        instance, monkeypatch, proxied_postgres, phases
    )
    ended_at = time.monotonic()
    assert outcome.success, outcome.error
    assert restored_at and restored_at[0] < ended_at
    assert proxied_postgres.answered["reset"] >= 1
    assert proxied_postgres.answered["not_accepting"] >= 1
    assert any("Connection refused" in w for w in warnings), warnings
    assert any(NOT_ACCEPTING in w for w in warnings), warnings
    ids = [r["id"] for r in scan_rows("deals", "outage")]
    assert ids == expected  # every deal, once
    assert outcome.deals_metadata["rows_loaded"] == len(expected) == 8_000
    runs = instance.get_run_records()
    assert [r.dagster_run.run_id for r in runs] == [outcome.run_id]


@pytest.mark.slow
def test_an_outage_past_the_patience_fails_as_transient(
    instance: DagsterInstance, monkeypatch, proxied_postgres: PostgresProxy
) -> None:
    """HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS bounds the wait; the failure then says what it
    was, and that resuming can succeed (the resume sensor resumes it)."""
    monkeypatch.setenv("HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS", "3")
    outcome, _, _, warnings = scan_during_outage(
        instance, monkeypatch, proxied_postgres, [("not_accepting", 40)], until_the_scan_ends=True
    )
    assert not outcome.success
    assert outcome.error.startswith(
        "the destination stayed unavailable past the scan's patience "
        "(HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS): "
    ) and outcome.error.endswith(f"FATAL:  {NOT_ACCEPTING}")
    assert warnings and all(NOT_ACCEPTING in w for w in warnings)
    assert failure_of(instance, outcome.run_id) == ("destination_unavailable", True)
