"""The property definitions as Dagster assets against the sandbox: materializing one
organization's partition is the sync (metadata: each outcome), the check passes after it, drift
made by hand in HubSpot fails it, and the daily schedule's run request runs the checks alone (no
materialization, HubSpot only read), through the same job subset the schedule daemon asks the
code location for."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from dagster import (
    AssetCheckKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    build_schedule_context,
)

from hubspot_deals.defs.definitions import defs
from hubspot_deals.defs.partitions import organizations_partitions
from hubspot_deals.defs.property_sync import (
    CHECK_NAME,
    SYNC_JOB_NAME,
    definitions_key,
    property_drift_schedule,
)
from hubspot_deals.settings import get_settings
from hubspot_sandbox.process import SandboxServer

ORG = "org-props"
TOKEN_ENV = "HUBSPOT_TOKEN_ORG_PROPS"
REPO = defs.get_repository_def()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, project_home: Path) -> Iterator[SandboxServer]:
    with SandboxServer(deals=20) as server:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", server.base_url)
        monkeypatch.setenv(TOKEN_ENV, server.token)
        orgs = project_home / "organizations.yaml"
        orgs.write_text(f"organizations:\n  - id: {ORG}\n    token_env: {TOKEN_ENV}\n")
        get_settings.cache_clear()
        yield server


def run_config() -> dict[str, Any]:
    config = {"config": {"access_token_env": TOKEN_ENV}}
    job = REPO.get_job(SYNC_JOB_NAME)
    return {"ops": {node.name: config for node in job.graph.node_defs}}


def materializations(instance: DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records
    answer = {}
    for record in records:
        mat = record.event_log_entry.dagster_event.event_specific_data.materialization
        assert mat.partition == ORG
        answer[mat.asset_key.path[-1]] = {k: v.value for k, v in mat.metadata.items()}
    return answer


def check_results(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    answer = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        assert evaluation.check_name == CHECK_NAME
        answer[evaluation.asset_key.path[-1]] = evaluation.passed
    return answer


def sync_run(instance: DagsterInstance) -> str:
    instance.add_dynamic_partitions(organizations_partitions.name, [ORG])
    result = REPO.get_job(SYNC_JOB_NAME).execute_in_process(
        run_config=run_config(), instance=instance, partition_key=ORG
    )
    assert result.success
    return result.run_id


def scheduled_check_run(instance: DagsterInstance) -> tuple[RunRequest, str]:
    """The schedule's tick, then its run as the daemon makes it: the job subset the code
    location builds from the request's asset selection and check keys."""
    when = datetime(2026, 12, 6, 4, 30, tzinfo=UTC)
    (request,) = property_drift_schedule.evaluate_tick(
        build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=REPO
        )
    ).run_requests
    job = REPO.get_maybe_subset_job_def(
        SYNC_JOB_NAME,
        asset_selection=frozenset(request.asset_selection),
        asset_check_selection=frozenset(request.asset_check_keys),
    )
    result = job.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
        raise_on_error=False,
    )
    return request, result.run_id


def test_materializing_a_partition_syncs_and_the_schedule_runs_only_the_checks(
    instance: DagsterInstance, sandbox: SandboxServer
) -> None:
    first = sync_run(instance)
    meta = materializations(instance, first)
    assert {
        name: {k: m[k] for k in ("created", "updated", "skipped", "conflict", "failed")}
        for name, m in meta.items()
    } == {
        "contacts": {"created": 15, "updated": 0, "skipped": 0, "conflict": 0, "failed": 0},
        "leads": {"created": 25, "updated": 0, "skipped": 0, "conflict": 0, "failed": 0},
        # No deals.json is shipped: nothing to sync.
        "deals": {"created": 0, "updated": 0, "skipped": 0, "conflict": 0, "failed": 0},
    }
    assert meta["contacts"]["properties"][0] == {
        "name": "what_service_do_you_need_",
        "label": "What services do you need?",
        "outcome": "created",
    }
    assert check_results(instance, first) == {"contacts": True, "leads": True, "deals": True}

    response = requests.patch(
        sandbox.url("/crm/v3/properties/contacts/event_start_date"),
        headers=sandbox.auth_headers(),
        json={"label": "Starts"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    sandbox.reset_stats()

    request, checked = scheduled_check_run(instance)
    assert (request.partition_key, request.asset_selection) == (ORG, [])
    assert request.asset_check_keys == [
        AssetCheckKey(definitions_key(t), CHECK_NAME) for t in ("contacts", "leads", "deals")
    ]
    assert request.run_config == {
        "ops": {
            f"hubspot__property_definitions__{t}_{CHECK_NAME}": {
                "config": {"access_token_env": TOKEN_ENV}
            }
            for t in ("contacts", "leads", "deals")
        }
    }
    # Only the checks ran: nothing materialized, HubSpot only read.
    assert materializations(instance, checked) == {}
    assert check_results(instance, checked) == {"contacts": False, "leads": True, "deals": True}
    assert set(sandbox.stats()["requests"]) == {
        "GET /crm/v3/properties/contacts",
        "GET /crm/v3/properties/leads",
        "GET /crm/v3/properties/deals",
    }
    contacts_check = next(
        r.event_log_entry.dagster_event.event_specific_data
        for r in instance.get_records_for_run(
            checked, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        if r.event_log_entry.dagster_event.event_specific_data.asset_key.path[-1] == "contacts"
    )
    assert contacts_check.metadata["drift"].value == [
        {"name": "event_start_date", "label": "Event Start Date", "outcome": "updated",
         "detail": "differs", "changed": ["label"]}
    ]  # fmt: skip

    again = sync_run(instance)
    assert materializations(instance, again)["contacts"]["updated"] == 1
    assert check_results(instance, again) == {"contacts": True, "leads": True, "deals": True}
    _, rechecked = scheduled_check_run(instance)
    assert check_results(instance, rechecked) == {"contacts": True, "leads": True, "deals": True}
