"""Incremental scans: only what changed since the organization's last completed scan."""

import pytest
import requests
from dagster import DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_sandbox.process import SandboxServer


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, project_home):
    def use(sandbox: SandboxServer) -> None:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()

    return use


def incremental(org: str, token: str, **kw) -> dict:
    return scan_run_config(org, token, scan_type="incremental", **kw)


def test_incremental_reads_exactly_the_changes(instance: DagsterInstance, sandbox_env) -> None:
    token = fake_token()
    with SandboxServer(deals=6000, seed=31, tokens=[token]) as sandbox:
        sandbox_env(sandbox)
        assert execute_scan(instance, "full-1", scan_run_config("org-a", token)).success
        live = sandbox.account().live_deal_ids()
        modified, archived, bulk = live[100:140], live[500:507], live[1000:1300]
        sandbox.admin("POST", "deals/modify",
                      {"ids": modified, "properties": {"dealstage": "closedwon"}})  # fmt: skip
        sandbox.admin("POST", "deals/archive", {"ids": archived})
        sandbox.admin(
            "POST", "deals/bulk-edit", {"property": "amount", "value": "777", "ids": bulk}
        )
        created = sandbox.admin("POST", "deals/create", {"count": 12})["ids"]
        requests.post(sandbox.url("/__sandbox/stats/reset"), timeout=5)
        # Another organization's scans do not move org-a's cursor.
        outcome = execute_scan(instance, "inc-1", incremental("org-a", token))
        assert outcome.success, outcome.error
        served = requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()
    rows = {r["id"]: r for r in scan_rows("deals", "inc-1")}
    assert sorted(rows) == sorted(modified + archived + bulk + created)
    assert {rows[i]["dealstage"] for i in modified} == {"closedwon"}
    assert {rows[i]["amount"] for i in bulk} == {777.0}
    assert all(rows[i]["archived"] and rows[i]["archived_at"] for i in archived)
    assert not any(rows[i]["archived"] for i in modified + bulk + created)
    assert outcome.deals_metadata["scan_type"] == "incremental"
    assert outcome.deals_metadata["read_strategy"] == "search"
    # 352 changed live deals: the total and 2 search pages; never a full list of live deals.
    assert served["requests"]["POST /crm/v3/objects/deals/search"] == {"200": 3}
    assert "GET /crm/v3/objects/deals" in served["requests"]  # the archived pass only
    assert served["dealsServed"] < 352 + 400  # changed deals, plus archived ones checked


@pytest.mark.slow
def test_12000_deals_sharing_one_timestamp(instance: DagsterInstance, sandbox_env) -> None:
    token = fake_token()
    with SandboxServer(deals=13_000, seed=32, archived_share=0.0, tokens=[token]) as sandbox:
        sandbox_env(sandbox)
        cfg = scan_run_config("org-b", token, properties=["dealname"])
        assert execute_scan(instance, "full-b", cfg).success
        edited = sandbox.admin(
            "POST", "deals/bulk-edit", {"property": "dealname", "value": "Bulk", "count": 12_000}
        )
        assert edited["edited"] == 12_000
        sandbox.reset_stats()
        outcome = execute_scan(
            instance, "inc-b", incremental("org-b", token, properties=["dealname"])
        )
        assert outcome.success, outcome.error
        first_12000 = sandbox.account().live_deal_ids()[:12_000]
        searches = requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()["requests"][
            "POST /crm/v3/objects/deals/search"
        ]
    rows = scan_rows("deals", "inc-b")
    assert [r["id"] for r in rows] == sorted(first_12000)
    # Past search's 10,000-result cap: windows of 10,000 and 2,000 (60 pages of 200), and the
    # total; never a 400, never a repeated page.
    assert searches == {"200": 1 + 60}
    assert {r["dealname"] for r in rows} == {"Bulk"}
    assert len({r["hs_lastmodifieddate"] for r in rows}) == 1  # one shared timestamp


@pytest.mark.slow  # the fast lane keeps the incremental scan of exactly the changes
def test_first_incremental_reads_everything(instance: DagsterInstance, sandbox_env) -> None:
    token = fake_token()
    with SandboxServer(deals=1500, seed=33, tokens=[token]) as sandbox:
        sandbox_env(sandbox)
        outcome = execute_scan(instance, "inc-first", incremental("org-new", token))
        assert outcome.success, outcome.error
        account = sandbox.account()
    assert outcome.deals_metadata["modified_since"] == "1970-01-01T00:00:00+00:00"
    ids = [r["id"] for r in scan_rows("deals", "inc-first")]
    assert ids == sorted(account.live_deal_ids() + account.archived_deal_ids())
