"""Checkpointed scans: a scan that stops part-way resumes after its last committed chunk."""

import threading
import time
from collections import Counter

import pytest
import requests
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_sandbox.process import SandboxServer


def _revoke_when_served(sandbox: SandboxServer, token: str, deals: int) -> threading.Thread:
    """Revokes the token once the sandbox has served `deals` deals (a token revoked mid-scan)."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (
                requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()["dealsServed"]
                >= deals
            ):
                requests.post(sandbox.url(f"/__sandbox/tokens/{token}/revoke"), timeout=5)
                return
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@pytest.fixture
def small_checkpoints(monkeypatch: pytest.MonkeyPatch, project_home) -> None:
    """Chunks of at least 2,000 deals, closed by count only however slow the machine is."""
    monkeypatch.setenv("HUBSPOT_DEALS_CHECKPOINT_DEALS", "2000")
    monkeypatch.setenv("HUBSPOT_DEALS_CHECKPOINT_SECONDS", "3600")
    get_settings.cache_clear()


def test_failed_scan_resumes_from_its_checkpoint(
    instance: DagsterInstance, monkeypatch, small_checkpoints
) -> None:
    token = fake_token()
    with SandboxServer(deals=12_000, seed=21, tokens=[token], latency_ms=5) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        cfg = scan_run_config("org", token, include_archived=True)
        watcher = _revoke_when_served(sandbox, token, 7_000)
        first = execute_scan(instance, "resumable", cfg)
        watcher.join()
        assert not first.success
        assert first.error.startswith("HubSpot rejected the access token (401")
        loaded = scan_rows("deals", "resumable")
        committed = len(loaded)
        # Whole chunks only: what was loaded is exactly what the checkpoint says (the resume
        # starts after it, below). A chunk closes on the first reader batch that reaches 2,000
        # deals, and a batch is 2,000 deals or a second's reading: every chunk is 2,000 or more.
        chunks = Counter(r["_scan_chunk"] for r in loaded)
        assert sorted(chunks) == list(range(1, len(chunks) + 1))
        assert all(size >= 2000 for size in chunks.values()), chunks
        assert 2000 <= committed < 12_000
        requests.post(sandbox.url("/__sandbox/tokens"), json={"token": token}, timeout=5)
        requests.post(sandbox.url("/__sandbox/stats/reset"), timeout=5)
        second = execute_scan(instance, "resumable", cfg)
        assert second.success, second.error
        served_on_resume = requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()
        account = sandbox.account()
    assert second.deals_metadata["resumed_after_deals"] == committed
    assert second.deals_metadata["deals_extracted"] == 12_000
    rows = scan_rows("deals", "resumable")
    assert [r["id"] for r in rows] == sorted(account.live_deal_ids() + account.archived_deal_ids())
    # Nothing loaded before is read again: only the remaining deals' pages are requested.
    assert served_on_resume["dealsServed"] == 12_000 - committed


@pytest.mark.slow  # two more scans: the fast lane keeps the resume from a checkpoint
def test_rerun_of_finished_scan_is_a_fresh_pass(
    instance: DagsterInstance, monkeypatch, small_checkpoints
) -> None:
    token = fake_token()
    with SandboxServer(deals=5_000, seed=22, tokens=[token]) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()
        cfg = scan_run_config("org", token)
        assert execute_scan(instance, "again", cfg).success
        # Archive 10 deals in HubSpot: a fresh pass must drop them from the scan.
        gone = sandbox.account().live_deal_ids()[:10]
        sandbox.admin("POST", "deals/archive", {"ids": gone})
        again = execute_scan(instance, "again", cfg)
        assert again.success, again.error
    assert again.deals_metadata["resumed_after_deals"] == 0
    ids = [r["id"] for r in scan_rows("deals", "again")]
    assert len(ids) == 4750 - 10 and not set(gone) & set(ids)
