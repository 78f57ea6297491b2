"""End to end: API keys, tenants and the ETL surface, on the HubSpot sandbox's known data.

One stack for the module: the sandbox (300 deals, seed 7), `dagster dev` (one run at a time,
DuckDB) and the shim with API keys made by `hubspot-deals api keys create`. Tenant A is the ETL
document's `acme_corp_prod`, so its Python examples run with only the URL, key, scan id and
token swapped in.
"""

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from hubspot_deals_tests.api_shim.conftest import (
    Shim,
    assert_nul_filters_are_400s,
    home_env,
    shim_env,
)
from hubspot_deals_tests.api_shim.etl_spec_examples import (
    PYTHON_EXAMPLES,
    SPEC_API_KEY,
    SPEC_BASE_URL,
    SPEC_SCAN_ID,
    SPEC_TENANT,
    SPEC_TOKEN,
)
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import REPO, DagsterDev
from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.slow

DEALS, SEED = 300, 7
TENANT_A, TENANT_B = SPEC_TENANT, "globex_prod"
ALL_SCOPES = ["scans.read", "scans.write", "deals.read"]
ONE_RUN_AT_A_TIME = "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
FINISHED = ("completed", "failed", "cancelled")
PROPERTIES = ["dealname", "amount", "dealstage", "pipeline", "closedate", "createdate"]
MISSING_ID = "scan_20990101_000000_000000000000"


def key_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`hubspot-deals api keys ...` as a user runs it (the shim's own entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "api_shim", "keys", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def create_key(env: dict[str, str], tenants: list[str], scopes: list[str]) -> dict[str, Any]:
    args = ["create", "--json", "--name", "test"]
    for tenant in tenants:
        args += ["--tenant", tenant]
    for scope in scopes:
        args += ["--scope", scope]
    done = key_command(env, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@dataclass
class Stack:
    sandbox: SandboxServer
    dagster: DagsterDev
    shim: Shim
    env: dict[str, str]
    home: Path
    token: str
    keys: dict[str, str] = field(default_factory=dict)
    account: SandboxAccount = field(default_factory=lambda: SandboxAccount(deals=DEALS, seed=SEED))

    def call(self, method: str, path: str, key: str | None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        kwargs.setdefault("timeout", 60)
        return requests.request(method, self.shim.url + path, headers=headers, **kwargs)

    def start(
        self, key: str, tenant: str, scan_type: str = "full", **config: Any
    ) -> requests.Response:
        body = {
            "tenant_id": tenant,
            "scan_type": scan_type,
            "config": {"hubspot_access_token": self.token, **config},
        }
        return self.call("POST", "/api/v1/scans/start", key, json=body)

    def wait(self, key: str, scan_id: str, statuses: tuple[str, ...] = FINISHED) -> dict:
        deadline = time.monotonic() + 240
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.call("GET", f"/api/v1/scans/{scan_id}", key)
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in statuses:
                return body
            time.sleep(0.5)
        raise AssertionError(f"scan {scan_id} not {statuses}: {body}")

    def conditions(self, **values: float) -> None:
        response = requests.post(
            self.sandbox.base_url + "/__sandbox/conditions", json=values, timeout=30
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    token = fake_token()
    home = home_env(module_dir, ONE_RUN_AT_A_TIME)
    keys = {
        "a": create_key(home, [TENANT_A], ALL_SCOPES)["key"],
        "b": create_key(home, [TENANT_B], ALL_SCOPES)["key"],
        "ab": create_key(home, [TENANT_A, TENANT_B], ALL_SCOPES)["key"],
    }
    for scope in ALL_SCOPES:
        keys[scope] = create_key(home, [TENANT_A], [scope])["key"]
    with (
        SandboxServer(deals=DEALS, seed=SEED, tokens=[token]) as sandbox,
        DagsterDev({**home, "HUBSPOT_API_BASE_URL": sandbox.base_url}, module_dir) as dagster,
        Shim(shim_env(dagster, home), module_dir) as shim,
    ):
        deadline = time.monotonic() + 120
        while (health := requests.get(shim.url + "/health", timeout=30)).status_code != 200:
            assert time.monotonic() < deadline, health.text
            time.sleep(1)
        yield Stack(
            sandbox,
            dagster,
            shim,
            shim_env(dagster, home),
            Path(home["HUBSPOT_DEALS_HOME"]),
            token,
            keys,
        )


# -- expected data, from the sandbox account --------------------------------------------------


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def number(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def expected_deals(account: SandboxAccount, archived: bool) -> list[dict[str, Any]]:
    """Deals as the results carry them: id, typed sort/filter fields, archived."""
    out = []
    for deal in account.deals(archived=None if archived else False, properties=PROPERTIES):
        p = deal["properties"]
        out.append(
            {
                "id": deal["id"],
                "dealname": p.get("dealname"),
                "amount": number(p.get("amount")),
                "dealstage": p.get("dealstage"),
                "pipeline": p.get("pipeline"),
                "closedate": ts(p.get("closedate")),
                "createdate": ts(p.get("createdate")),
                "archived": deal["archived"],
            }
        )
    return out


def ordered(deals: list[dict[str, Any]], field_name: str | None, desc: bool) -> list[dict]:
    """The documented order: the field (nulls last either way), then the deal id."""
    by_id = sorted(deals, key=lambda d: d["id"])
    if field_name is None:
        return by_id
    present = [d for d in by_id if d[field_name] is not None]
    missing = [d for d in by_id if d[field_name] is None]
    return sorted(present, key=lambda d: d[field_name], reverse=desc) + missing


def money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures(deals: list[dict[str, Any]]) -> dict[str, Any]:
    amounts = [d["amount"] for d in deals if d["amount"] is not None]
    return {
        "total_value": money(sum(amounts)) if amounts else 0.0,
        "avg_value": money(sum(amounts) / len(amounts)) if amounts else None,
        "min_value": money(min(amounts)) if amounts else None,
        "max_value": money(max(amounts)) if amounts else None,
    }


def counts(deals: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for deal in deals:
        out[deal[key]] = out.get(deal[key], 0) + 1
    return out


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "dealname": record.get("dealname"),
        "amount": record.get("amount"),
        "dealstage": record.get("dealstage"),
        "pipeline": record.get("pipeline"),
        "closedate": ts(record.get("closedate")),
        "createdate": ts(record.get("createdate")),
        "archived": record["archived"],
    }


# -- the ETL document's Python examples ------------------------------------------------------


def run_example(stack: Stack, title: str, scan_id: str, namespace: dict[str, Any]) -> str:
    code = (
        PYTHON_EXAMPLES[title]
        .replace(SPEC_BASE_URL, stack.shim.url)
        .replace(SPEC_API_KEY, stack.keys["a"])
        .replace(SPEC_SCAN_ID, scan_id)
        .replace(SPEC_TOKEN, stack.token)
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"deals-etl-api.md: {title}", "exec"), namespace)  # noqa: S102
    return output.getvalue()


@pytest.fixture(scope="module")
def spec_scan(stack: Stack) -> dict[str, Any]:
    """The document's examples in its order: start, monitor, page through, filter and sort,
    and the error-handling start (a scan with the document's placeholder token)."""
    namespace: dict[str, Any] = {"__name__": "etl_examples"}
    printed = {"Start Extraction": run_example(stack, "Start Extraction", "", namespace)}
    scan_id = namespace["scan_id"]
    first_start = namespace["response"].json()
    printed["Monitor Progress"] = run_example(stack, "Monitor Progress", scan_id, namespace)
    monitored = namespace["result"]
    printed["Get Paginated Results"] = run_example(
        stack, "Get Paginated Results", scan_id, namespace
    )
    paged = namespace["deals"]
    printed["Filter and Sort Results"] = run_example(
        stack, "Filter and Sort Results", scan_id, namespace
    )
    printed["Error Handling"] = run_example(stack, "Error Handling", scan_id, namespace)
    started = namespace["result"]
    failed = stack.wait(stack.keys["a"], started["scan_id"]) if started else None
    return {
        "scan_id": scan_id,
        "namespace": namespace,
        "printed": printed,
        "started": first_start,
        "monitored": monitored,
        "paged": paged,
        "error_handling_start": started,
        "error_handling_status": failed,
    }


def test_etl_document_python_examples_run_as_written(stack: Stack, spec_scan: dict) -> None:
    namespace, printed = spec_scan["namespace"], spec_scan["printed"]
    scan_id = spec_scan["scan_id"]
    started = spec_scan["started"]
    assert set(started) == {
        "status",
        "message",
        "scan_id",
        "scan_job_id",
        "tenant_id",
        "scan_type",
        "estimated_duration_minutes",
        "created_at",
        "links",
    }
    assert (started["status"], started["message"]) == ("accepted", "Scan initiated successfully")
    assert (started["tenant_id"], started["scan_type"]) == (TENANT_A, "full")
    assert started["estimated_duration_minutes"] is None  # the tenant's first scan
    assert started["links"] == {
        "self": f"/api/v1/scans/{scan_id}",
        "status": f"/api/v1/scans/{scan_id}",
        "results": f"/api/v1/scans/{scan_id}/results",
    }
    assert printed["Start Extraction"].startswith("{'status': 'accepted'")
    assert stack.token not in "".join(printed.values())
    assert spec_scan["monitored"]["status"] == "completed"
    assert spec_scan["monitored"]["scan_job_id"] == started["scan_job_id"]
    assert printed["Monitor Progress"].strip().splitlines()[-1] == (
        "Status: completed - Progress: 100.0%"
    )
    live = expected_deals(stack.account, archived=False)
    assert sorted(d["id"] for d in spec_scan["paged"]) == sorted(d["id"] for d in live)
    assert {d["id"] for d in namespace["deals"]} <= {d["id"] for d in live}
    assert printed["Get Paginated Results"].strip() == f"Total deals: {len(live)}"
    closed_won = ordered([d for d in live if d["dealstage"] == "closedwon"], "amount", True)
    expected_lines = [f"{d['dealname']}: ${d['amount']}" for d in closed_won[:50]]
    assert printed["Filter and Sort Results"].splitlines() == expected_lines
    assert len(expected_lines) == 20


def test_failed_scan_reports_authentication_error(stack: Stack, spec_scan: dict) -> None:
    """The error-handling example started a scan with the document's placeholder token."""
    assert spec_scan["error_handling_start"]["status"] == "accepted"
    # The tenant's earlier completed full scan gives the estimate.
    assert spec_scan["error_handling_start"]["estimated_duration_minutes"] == 1
    status = spec_scan["error_handling_status"]
    assert status["status"] == "failed"
    assert status["error"]["code"] == "authentication_error"
    assert "401" in status["error"]["message"]
    assert "pat-na1-xxxxx" not in json.dumps(status)
    assert set(status["timing"]) == {"started_at", "failed_at"}


@pytest.fixture(scope="module")
def full_scan(stack: Stack, spec_scan: dict) -> str:
    """Tenant A's full scan with archived deals and the sort and filter properties."""
    started = stack.start(
        stack.keys["a"],
        TENANT_A,
        properties=PROPERTIES,
        filters={"archived": True},
        batch_size=50,
    )
    assert started.status_code == 202, started.text
    scan_id = started.json()["scan_id"]
    assert stack.wait(stack.keys["a"], scan_id)["status"] == "completed"
    return scan_id


def test_completed_status_and_results_summary_are_exact(stack: Stack, full_scan: str) -> None:
    status = stack.wait(stack.keys["a"], full_scan)
    live = expected_deals(stack.account, archived=False)
    everything = expected_deals(stack.account, archived=True)
    amounts = figures(live)
    assert status["results_summary"] == {
        "total_deals": len(live),
        "total_value": amounts["total_value"],
        "avg_deal_value": amounts["avg_value"],
        "pipelines": counts(live, "pipeline"),
        "stages": counts(live, "dealstage"),
    }
    assert status["progress"] == {
        "total_items": len(live),
        "processed_items": len(everything),
        "failed_items": 0,
        "percentage": 100.0,
        "success_rate": "100.00%",
    }
    assert status["config"] == {
        "batch_size": 50, "properties_count": 6, "archived": True, "pipeline": None
    }  # fmt: skip
    assert status["scan_type"] == "full" and status["tenant_id"] == TENANT_A
    assert set(status["timing"]) == {"started_at", "completed_at", "duration_seconds"}
    assert status["links"] == {
        "self": f"/api/v1/scans/{full_scan}",
        "results": f"/api/v1/scans/{full_scan}/results",
    }


@pytest.mark.parametrize(
    ("params", "stage", "pipeline", "sort", "desc"),
    [
        ({}, None, None, "closedate", False),
        ({"sort_by": "amount", "sort_order": "desc", "filter_stage": "closedwon"}, "closedwon",
         None, "amount", True),
        ({"sort_by": "createdate", "sort_order": "desc", "filter_pipeline": "75302811"}, None,
         "75302811", "createdate", True),
        ({"filter_stage": "148302413", "filter_pipeline": "75302811", "sort_by": "closedate"},
         "148302413", "75302811", "closedate", False),
    ],
)  # fmt: skip
def test_results_filters_sorting_pages_and_summary(
    stack: Stack,
    full_scan: str,
    params: dict[str, str],
    stage: str | None,
    pipeline: str | None,
    sort: str,
    desc: bool,
) -> None:
    matching = [
        d
        for d in expected_deals(stack.account, archived=True)
        if (stage is None or d["dealstage"] == stage)
        and (pipeline is None or d["pipeline"] == pipeline)
    ]
    expected = ordered(matching, sort, desc)
    limit = 7
    pages = -(-len(expected) // limit)
    got: list[dict[str, Any]] = []
    for page in range(1, pages + 1):
        response = stack.call(
            "GET",
            f"/api/v1/scans/{full_scan}/results",
            stack.keys["deals.read"],
            params={**params, "page": page, "limit": limit},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pagination"] == {
            "page": page,
            "limit": limit,
            "total_results": len(expected),
            "total_pages": pages,
            "has_next": page < pages,
            "has_previous": page > 1,
        }
        applied = {k: v for k, v in params.items() if k.startswith("filter_")}
        assert body["filters_applied"] == {
            **applied,
            "sort_by": sort,
            "sort_order": params.get("sort_order", "asc"),
        }
        assert body["summary"] == figures(matching)
        assert (body["scan_id"], body["tenant_id"], body["status"]) == (
            full_scan,
            TENANT_A,
            "completed",
        )
        assert body["links"]["scan"] == f"/api/v1/scans/{full_scan}"
        assert ("next" in body["links"]) == (page < pages)
        assert ("previous" in body["links"]) == (page > 1)
        for record in body["results"]:
            assert record["metadata"]["scan_id"] == full_scan
            assert "_scan_id" not in record and "_organization_id" not in record
        got.extend(comparable(r) for r in body["results"])
    assert got == expected
    assert len(expected) > limit


def test_results_links_and_empty_and_invalid_queries(stack: Stack, full_scan: str) -> None:
    key = stack.keys["deals.read"]
    path = f"/api/v1/scans/{full_scan}/results"
    body = stack.call(
        "GET", path, key, params={"filter_stage": "closedwon", "page": 2, "limit": 10}
    ).json()
    closed_won = [
        d for d in expected_deals(stack.account, archived=True) if d["dealstage"] == "closedwon"
    ]
    assert 20 < len(closed_won) <= 30  # page 2 of 10 has a page after it
    assert body["links"] == {
        "self": f"{path}?page=2&limit=10&filter_stage=closedwon&sort_order=asc",
        "next": f"{path}?page=3&limit=10&filter_stage=closedwon&sort_order=asc",
        "previous": f"{path}?page=1&limit=10&filter_stage=closedwon&sort_order=asc",
        "scan": f"/api/v1/scans/{full_scan}",
    }
    beyond = stack.call("GET", path, key, params={"filter_stage": "closedwon", "page": 9}).json()
    assert beyond["results"] == [] and beyond["pagination"]["has_previous"]
    assert (
        beyond["links"]["previous"]
        == f"{path}?page=1&limit=100&filter_stage=closedwon&sort_order=asc"
    )
    empty = stack.call("GET", path, key, params={"filter_stage": "no-such-stage"}).json()
    assert empty["pagination"]["total_results"] == 0 and empty["results"] == []
    assert empty["summary"] == {
        "total_value": 0.0,
        "avg_value": None,
        "min_value": None,
        "max_value": None,
    }
    for params, field_name in (
        ({"sort_by": "dealname"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"limit": 1001}, "limit"),
        ({"page": 0}, "page"),
    ):
        response = stack.call("GET", path, key, params=params)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["error"] == "validation_error" and list(error["details"]) == [field_name]
        assert error["message"] == "Input validation failed"
    # A NUL in a filter: a 400 naming it, like PostgreSQL's (DuckDB answered an empty page).
    assert_nul_filters_are_400s(stack.shim.api, full_scan, {"Authorization": f"Bearer {key}"})


def test_incremental_scan_reads_only_the_changed_deals(stack: Stack, full_scan: str) -> None:
    changed = stack.account.live_deal_ids()[:3]
    response = requests.post(
        stack.sandbox.base_url + "/__sandbox/deals/modify",
        json={"ids": changed, "properties": {"amount": "4321.5"}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    started = stack.start(stack.keys["a"], TENANT_A, "incremental", properties=PROPERTIES)
    assert started.status_code == 202, started.text
    assert started.json()["scan_type"] == "incremental"
    scan_id = started.json()["scan_id"]
    status = stack.wait(stack.keys["a"], scan_id)
    assert (status["status"], status["scan_type"]) == ("completed", "incremental")
    assert status["progress"]["processed_items"] == 3
    results = stack.call(
        "GET", f"/api/v1/scans/{scan_id}/results", stack.keys["a"], params={"sort_by": "amount"}
    ).json()
    assert sorted(r["id"] for r in results["results"]) == sorted(changed)
    assert {r["amount"] for r in results["results"]} == {4321.5}
    assert results["summary"]["total_value"] == round(3 * 4321.5, 2)


def test_pipeline_filter_reads_one_pipeline(stack: Stack, full_scan: str) -> None:
    everything = expected_deals(stack.account, archived=True)
    pipelines = counts(everything, "pipeline")
    pipeline = min(pipelines, key=pipelines.__getitem__)
    started = stack.start(
        stack.keys["a"], TENANT_A, properties=["dealname", "amount"],
        filters={"archived": True, "pipeline": pipeline},
    )  # fmt: skip
    assert started.status_code == 202, started.text
    scan_id = started.json()["scan_id"]
    status = stack.wait(stack.keys["a"], scan_id)
    wanted = [d for d in everything if d["pipeline"] == pipeline]
    live = [d for d in wanted if not d["archived"]]
    assert 0 < len(live) < len(wanted) < len(everything)
    assert status["status"] == "completed"
    assert status["config"] == {
        "batch_size": 100, "properties_count": 2, "archived": True, "pipeline": pipeline
    }  # fmt: skip
    assert status["progress"]["processed_items"] == len(wanted)
    assert status["results_summary"]["total_deals"] == len(live)
    assert status["results_summary"]["pipelines"] == {pipeline: len(live)}
    results = stack.call(
        "GET", f"/api/v1/scans/{scan_id}/results", stack.keys["a"], params={"limit": 100}
    ).json()
    assert sorted(r["id"] for r in results["results"]) == sorted(d["id"] for d in wanted)
    assert {r["pipeline"] for r in results["results"]} == {pipeline}


def test_running_scan_conflict_cancel_and_remove(stack: Stack, full_scan: str) -> None:
    key = stack.keys["b"]
    stack.conditions(latencyMs=1500)
    try:
        started = stack.start(key, TENANT_B, properties=["dealname"])
        assert started.status_code == 202, started.text
        scan_id = started.json()["scan_id"]
        again = stack.start(key, TENANT_B)
        assert again.status_code == 409, again.text
        conflict = again.json()
        assert conflict["error"] == "conflict"
        assert conflict["active_scan_id"] == scan_id
        assert conflict["message"] == f"Scan already in progress for tenant: {TENANT_B}"
        running = stack.wait(key, scan_id, ("running",))
        while "started_at" not in running["timing"]:  # Dagster's STARTING: not started yet
            time.sleep(0.3)
            running = stack.call("GET", f"/api/v1/scans/{scan_id}", key).json()
            assert running["status"] == "running", running
        assert running["links"]["cancel"] == f"/api/v1/scans/{scan_id}/cancel"
        assert set(running["timing"]) >= {"started_at", "elapsed_seconds"}
        assert isinstance(running["timing"]["elapsed_seconds"], int)
        not_yet = stack.call("GET", f"/api/v1/scans/{scan_id}/results", key)
        assert not_yet.status_code == 409 and not_yet.json()["error"] == "conflict"
        busy = stack.call("DELETE", f"/api/v1/scans/{scan_id}", key)
        assert busy.status_code == 409 and busy.json()["error"] == "conflict"
        cancel = stack.call(
            "POST",
            f"/api/v1/scans/{scan_id}/cancel",
            key,
            json={"reason": "User requested cancellation"},
        )
        assert cancel.status_code == 200, cancel.text
        body = cancel.json()
        assert (body["status"], body["previous_status"], body["current_status"]) == (
            "success",
            "running",
            "cancelled",
        )
        assert body["reason"] == "User requested cancellation"
        assert set(body["progress_at_cancellation"]) == {
            "processed_items",
            "total_items",
            "percentage",
        }
        assert body["links"] == {"scan": f"/api/v1/scans/{scan_id}"}
    finally:
        stack.conditions(latencyMs=0)
    assert stack.wait(key, scan_id)["status"] == "cancelled"
    twice = stack.call("POST", f"/api/v1/scans/{scan_id}/cancel", key)
    assert twice.status_code == 409 and twice.json()["error"] == "conflict"
    deadline = time.monotonic() + 60
    while (removed := stack.call("DELETE", f"/api/v1/scans/{scan_id}", key)).status_code == 409:
        assert time.monotonic() < deadline, removed.text
        time.sleep(1)
    assert removed.status_code == 200, removed.text
    assert removed.json()["message"] == (
        f"Scan and {removed.json()['deleted_deals']} deals removed successfully"
    )
    gone = stack.call("GET", f"/api/v1/scans/{scan_id}", key)
    assert gone.status_code == 404
    assert gone.json()["message"] == f"No scan found with ID: {scan_id}"


def test_remove_reports_the_deals_deleted(stack: Stack, spec_scan: dict) -> None:
    failed = spec_scan["error_handling_start"]["scan_id"]
    removed = stack.call("DELETE", f"/api/v1/scans/{failed}", stack.keys["scans.write"])
    assert removed.status_code == 200, removed.text
    assert removed.json()["deleted_deals"] == 0
    assert removed.json()["message"] == "Scan and 0 deals removed successfully"


def sandbox_table_rows(account: SandboxAccount) -> dict[str, int]:
    """A full scan's rows (live deals only) in the scan's tables, from the sandbox's data."""
    pipelines = account.pipelines()
    return {
        "deals": len(account.live_deal_ids()),
        "users": len(account.owners()) + len(account.owners(archived=True)),
        "pipelines": len(pipelines),
        "pipeline_stages": sum(len(p["stages"]) for p in pipelines),
        "deal_properties": len(account.property_definitions()),
    }


def completed_scan_rows(stack: Stack, key: str) -> tuple[str, dict[str, int]]:
    """A new completed full scan of tenant B, and its rows by table as the scan API lists them."""
    started = stack.start(key, TENANT_B)
    assert started.status_code == 202, started.text
    scan_id = started.json()["scan_id"]
    assert stack.wait(key, scan_id)["status"] == "completed"
    tables = stack.call("GET", f"/api/v1/results/{scan_id}/tables", key)
    assert tables.status_code == 200, tables.text
    return scan_id, {t["name"]: t["rowCount"] for t in tables.json()["data"]["tables"]}


def test_remove_counts_deals_on_the_etl_api_and_every_row_on_the_scan_api(stack: Stack) -> None:
    """`deleted_deals` is the deal rows removed, not the rows of every table; the scan API's
    `recordsDeleted` keeps counting them all."""
    key = stack.keys["b"]
    expected = sandbox_table_rows(stack.account)
    assert expected == {
        "deals": 285, "users": 27, "pipelines": 3, "pipeline_stages": 17, "deal_properties": 77
    }  # fmt: skip
    etl_scan, rows = completed_scan_rows(stack, key)
    assert {name: rows[name] for name in expected} == expected
    removed = stack.call("DELETE", f"/api/v1/scans/{etl_scan}", key)
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert body["deleted_deals"] == expected["deals"]
    assert body["message"] == f"Scan and {expected['deals']} deals removed successfully"
    scan, rows = completed_scan_rows(stack, key)
    assert {name: rows[name] for name in expected} == expected
    removed = stack.call("DELETE", f"/api/v1/scan/{scan}/remove", key)
    assert removed.status_code == 200, removed.text
    assert removed.json()["data"] == {"scanId": scan, "recordsDeleted": sum(rows.values())}


# -- tenants: another tenant's scans do not exist for a key -----------------------------------


def operations(stack: Stack) -> list[tuple[str, str]]:
    """Every operation the shim documents, as (method, path template)."""
    document = requests.get(stack.shim.url + "/api/v1/openapi.json", timeout=30).json()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "delete", "put", "patch")
    ]


def concrete(path: str, scan_id: str) -> str:
    return path.replace("{scan_id}", scan_id).replace("{format}", "csv")


def test_another_tenants_scan_is_indistinguishable_from_a_missing_one(
    stack: Stack, full_scan: str
) -> None:
    scan_paths = [(m, p) for m, p in operations(stack) if "{scan_id}" in p]
    assert len(scan_paths) >= 12  # both surfaces, downloads, pause and resume included
    for method, path in scan_paths:
        kwargs: dict[str, Any] = {"params": {"tableName": "deals"}} if "result" in path else {}
        theirs = stack.call(method, concrete(path, full_scan), stack.keys["b"], **kwargs)
        missing = stack.call(method, concrete(path, MISSING_ID), stack.keys["b"], **kwargs)
        assert theirs.status_code == missing.status_code == 404, (method, path, theirs.text)
        assert theirs.json() | {"timestamp": None} == json.loads(
            missing.text.replace(MISSING_ID, full_scan)
        ) | {"timestamp": None}, (method, path)
        assert full_scan not in missing.text
    # The scan is still there, untouched, for its own tenant.
    assert stack.wait(stack.keys["a"], full_scan)["status"] == "completed"
    listed = stack.call("GET", "/api/v1/scan/list", stack.keys["b"], params={"limit": 100}).json()
    assert all(s["organizationId"] == TENANT_B for s in listed["data"]["scans"])
    other = stack.call(
        "GET", "/api/v1/scan/list", stack.keys["b"], params={"organizationId": TENANT_A}
    ).json()
    assert other["data"]["scans"] == [] and other["data"]["pagination"]["total"] == 0
    stats = stack.call("GET", "/api/v1/stats", stack.keys["b"]).json()["data"]
    assert stats["total_jobs"] == listed["data"]["pagination"]["total"]
    both = stack.call("GET", "/api/v1/scan/list", stack.keys["ab"], params={"limit": 100}).json()
    assert full_scan in {s["scanId"] for s in both["data"]["scans"]}


def test_a_key_cannot_start_scans_for_another_tenant(stack: Stack) -> None:
    etl = stack.start(stack.keys["b"], TENANT_A)
    assert etl.status_code == 403
    assert etl.json()["error"] == "forbidden"
    assert etl.json()["message"] == f"This API key may not act for tenant '{TENANT_A}'"
    existing = stack.call(
        "POST",
        "/api/v1/scan/start",
        stack.keys["b"],
        json={
            "config": {
                "scanId": "tenant-a-by-b",
                "organizationId": TENANT_A,
                "type": ["user"],
                "auth": {"accessToken": stack.token},
            }
        },
    )
    assert existing.status_code == 403
    assert existing.json() == {
        "success": False,
        "message": f"This API key may not act for tenant '{TENANT_A}'",
        "error": f"This API key may not act for tenant '{TENANT_A}'",
    }
    cleanup = stack.call("POST", "/api/v1/maintenance/cleanup", stack.keys["b"])
    assert cleanup.status_code == 200 and cleanup.json()["data"]["cleanedCount"] == 0


def test_a_scan_id_another_tenant_holds_is_free_for_this_one(stack: Stack) -> None:
    """Scan API ids are the client's choice: tenant B can use one tenant A has, so B learns
    nothing from starting it, and each tenant's key sees its own scan under that id."""

    def start(key: str, tenant: str, properties: list[str]) -> requests.Response:
        config = {
            "scanId": "shared-id",
            "organizationId": tenant,
            "type": ["user"],
            "auth": {"accessToken": stack.token},
            "filters": {"properties": properties},
        }
        return stack.call("POST", "/api/v1/scan/start", key, json={"config": config})

    def status(key: str) -> dict[str, Any]:
        deadline = time.monotonic() + 240
        while True:
            data = stack.call("GET", "/api/v1/scan/shared-id/status", key).json()["data"]
            if data["status"] in FINISHED or time.monotonic() > deadline:
                return data
            time.sleep(0.5)

    assert start(stack.keys["a"], TENANT_A, ["dealname"]).status_code == 202
    assert status(stack.keys["a"])["status"] == "completed"
    assert start(stack.keys["b"], TENANT_B, ["amount"]).status_code == 202
    theirs = status(stack.keys["b"])
    assert (theirs["status"], theirs["organizationId"]) == ("completed", TENANT_B)
    assert theirs["scanId"] == "shared-id" and theirs["config"]["filters"]["properties"] == [
        "amount"
    ]
    assert theirs["metadata"]["dagsterPartition"].startswith("shared-id.t-")
    ours = status(stack.keys["a"])
    assert (ours["organizationId"], ours["metadata"]["dagsterPartition"]) == (TENANT_A, "shared-id")
    # Each key's rows are its own scan's; an id the tenant holds itself is a 409.
    for key, column in (("a", "dealname"), ("b", "amount")):
        page = stack.call(
            "GET", "/api/v1/results/shared-id/result", stack.keys[key],
            params={"tableName": "deals", "limit": 1},
        ).json()["data"]  # fmt: skip
        assert column in page["records"][0] and page["pagination"]["total"] == len(
            stack.account.live_deal_ids()
        ), key
        assert start(stack.keys[key], TENANT_A if key == "a" else TENANT_B, []).status_code == 409
    # Removing B's scan leaves A's whole.
    assert stack.call("DELETE", "/api/v1/scan/shared-id/remove", stack.keys["b"]).status_code == 200
    assert stack.call("GET", "/api/v1/scan/shared-id/status", stack.keys["b"]).status_code == 404
    assert status(stack.keys["a"])["status"] == "completed"
    assert stack.call("DELETE", "/api/v1/scan/shared-id/remove", stack.keys["a"]).status_code == 200


# -- scopes, missing and revoked keys on every endpoint ---------------------------------------


def required_scope(method: str, path: str) -> str:
    if path.startswith("/api/hs/contacts"):
        return "contacts.read" if method == "GET" else "contacts.write"
    if path.startswith("/api/v1/hubspot/properties/sync/"):
        return "properties.write"  # no key here has it: every key is refused
    segments = path.removeprefix("/api/v1/").split("/")
    if segments[0] == "results" or segments[0] == "scans" and segments[-1] == "results":
        return "deals.read"
    return "scans.read" if method == "GET" else "scans.write"


def test_every_endpoint_needs_a_key_with_its_scope(stack: Stack) -> None:
    public = {("GET", "/health"), ("GET", "/api/v1/health")}
    checked = 0
    for method, path in operations(stack):
        url = concrete(path, MISSING_ID)
        etl = path == "/health" or path.startswith("/api/v1/scans")
        if (method, path) in public:
            assert stack.call(method, url, None).status_code == 200, path
            continue
        if path == "/api/hs/auth/callback":  # HubSpot sends the browser here, without a key
            response = stack.call(method, url, None, allow_redirects=False)
            assert response.status_code not in (401, 403), response.text
            continue
        scope = required_scope(method, path)
        unauthenticated = stack.call(method, url, None)
        assert unauthenticated.status_code == 401, (method, path, unauthenticated.text)
        assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = stack.call(method, url, "hsd_0123456789ab_" + "x" * 43)
        assert wrong.status_code == 401, (method, path)
        if etl:
            assert unauthenticated.json() | {"timestamp": None} == {
                "error": "unauthorized",
                "message": "Invalid or missing API key",
                "timestamp": None,
            }
        else:
            assert unauthenticated.json() == {
                "success": False,
                "message": "Invalid or missing API key",
                "error": "Invalid or missing API key",
            }
        for other in ALL_SCOPES:
            response = stack.call(method, url, stack.keys[other])
            if other == scope:
                # (The OAuth surface answers 401 of its own, e.g. NO_REFRESH_TOKEN.)
                assert response.status_code != 403, (method, path, response.text)
                assert "Invalid or missing API key" not in response.text, (method, path)
            else:
                assert response.status_code == 403, (method, path, other, response.text)
                message = response.json()["message"]
                assert message.startswith(f"This API key lacks the scope {scope}")
                assert (response.json()["error"] == "forbidden") == etl
        checked += 1
    assert checked >= 20


def test_revoking_a_key_takes_effect_at_once(stack: Stack) -> None:
    created = create_key(stack.env, [TENANT_B], ["scans.read"])
    key, key_id = created["key"], created["key_id"]
    assert stack.call("GET", "/api/v1/scan/list", key).status_code == 200
    assert stack.call("GET", f"/api/v1/scans/{MISSING_ID}", key).status_code == 404
    revoked = key_command(stack.env, "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert stack.call("GET", "/api/v1/scan/list", key).status_code == 401
    assert stack.call("GET", f"/api/v1/scans/{MISSING_ID}", key).json()["error"] == "unauthorized"
    listed = json.loads(key_command(stack.env, "list", "--json").stdout)
    entry = next(k for k in listed if k["key_id"] == key_id)
    assert entry["revoked_at"] and entry["scopes"] == ["scans.read"]
    assert entry["tenants"] == [TENANT_B] and "digest" not in entry
    again = key_command(stack.env, "revoke", key_id)
    assert again.returncode == 2 and "was revoked at" in again.stderr
    key_file = stack.home / "api_keys.json"
    secret = key.split("_", 2)[2]  # the secret itself may contain or start with "_"
    assert len(secret) == 43
    assert key not in key_file.read_text() and secret not in key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in stack.shim.log()


def test_health_needs_no_key(stack: Stack) -> None:
    health = requests.get(stack.shim.url + "/health", timeout=30)
    body = health.json()
    assert health.status_code == 200
    assert body["status"] == "healthy" and body["service"] == "hubspot_deals"
    assert body["components"] == {
        "api": "healthy",
        "database": "healthy",
        "extraction_service": "healthy",
    }
    assert body["database"]["status"] == "connected"
    assert isinstance(body["database"]["latency_ms"], float)
    assert requests.get(stack.shim.api + "/health", timeout=30).status_code == 200


def test_start_refuses_invalid_requests_in_the_documented_shape(stack: Stack) -> None:
    secret = "pat-na1-" + "s" * 30
    cases = [
        ({}, {"tenant_id": "Field is required", "scan_type": "Field is required",
              "config": "Field is required"}),
        ({"tenant_id": TENANT_A, "scan_type": "delta", "config": {"hubspot_access_token": secret}},
         {"scan_type": "Input should be 'full' or 'incremental'"}),
        ({"tenant_id": TENANT_A, "scan_type": "full",
          "config": {"hubspot_access_token": secret, "batch_size": 500, "extra": 1}},
         {"config.batch_size": "Input should be less than or equal to 100",
          "config.extra": "Unknown field"}),
        ({"tenant_id": TENANT_A, "scan_type": "full",
          "config": {"hubspot_access_token": secret, "filters": {"pipeline": ""}}},
         {"config.filters.pipeline": "String should have at least 1 character"}),
        ({"tenant_id": "x" * 101, "scan_type": "full",
          "config": {"hubspot_access_token": "short"}},
         {"tenant_id": "String should have at most 100 characters",
          "config.hubspot_access_token": "String should have at least 10 characters"}),
    ]  # fmt: skip
    for body, details in cases:
        response = stack.call("POST", "/api/v1/scans/start", stack.keys["a"], json=body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error.pop("timestamp").endswith("Z")
        assert error == {
            "error": "validation_error",
            "message": "Input validation failed",
            "details": details,
        }
        assert secret not in response.text
    not_json = stack.call(
        "POST",
        "/api/v1/scans/start",
        stack.keys["a"],
        data="{",
        headers={"Content-Type": "application/json"},
    )
    assert not_json.status_code == 400 and not_json.json()["error"] == "validation_error"
    bad_id = stack.call("GET", "/api/v1/scans/bad%20id", stack.keys["a"])
    assert bad_id.status_code == 400 and list(bad_id.json()["details"]) == ["scan_id"]
