"""The scan contract (`hubspot_deals.scan`): ids, run config, tags and liveness, as both sides
of the house read them."""

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api_shim.models.scans import ScanConfigRequest
from hubspot_deals import scan
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.scan import ScanRunConfig, Tag

WHEN = datetime(2025, 1, 27, 10, 30, 0, tzinfo=UTC)


def scan_api_accepts(scan_id: str) -> bool:
    """The scan API's own validation of a client's scan id (the start request's model)."""
    body = {"scanId": scan_id, "organizationId": "org", "type": ["user"], "auth": {}}
    try:
        ScanConfigRequest.model_validate(body)
    except ValueError as exc:
        return "scanId" not in str(exc) and "scan_id" not in str(exc)
    return True


def test_etl_scan_id_is_the_documented_format_and_valid_on_both_apis() -> None:
    first, second = scan.etl_scan_id(WHEN), scan.etl_scan_id(WHEN)
    assert first.startswith("scan_20250127_103000_") and len(first) == len("scan_20250127_") + 19
    assert first != second  # two starts in one second
    for scan_id in (first, second):
        assert re.fullmatch(scan.ETL_SCAN_ID_PATTERN, scan_id)
        assert scan.valid_scan_id(scan_id) and scan_api_accepts(scan_id)


def test_scheduled_scan_id_takes_the_day_then_the_time() -> None:
    taken: set[str] = set()
    first = scan.scheduled_scan_id("org-12345", WHEN, taken.__contains__)
    assert first == "org-12345-2025-01-27"
    taken.add(first)
    second = scan.scheduled_scan_id("org-12345", WHEN, taken.__contains__)
    assert second == "org-12345-2025-01-27-103000"
    taken.add(second)
    assert scan.scheduled_scan_id("org-12345", WHEN, taken.__contains__) == (
        "org-12345-2025-01-27-103000-2"
    )
    pattern = re.compile(scan.AUTOMATIC_SCAN_ID_PATTERN)
    parts = pattern.fullmatch(second)
    assert parts is not None
    assert (parts["organization"], parts["day"], parts["time"], parts["n"]) == (
        "org-12345",
        "2025-01-27",
        "103000",
        None,
    )
    assert all(scan.valid_scan_id(s) and scan_api_accepts(s) for s in (first, second))


def test_changed_scan_id_numbers_retries_within_one_second() -> None:
    taken = {"org_a-2025-01-27-103000", "org_a-2025-01-27-103000-2"}
    scan_id = scan.changed_scan_id("org_a", WHEN, taken.__contains__)
    assert scan_id == "org_a-2025-01-27-103000-3"
    parts = re.fullmatch(scan.AUTOMATIC_SCAN_ID_PATTERN, scan_id)
    assert parts is not None and (parts["organization"], parts["n"]) == ("org_a", "3")
    assert scan.valid_scan_id(scan_id) and scan_api_accepts(scan_id)


def test_demo_scan_id() -> None:
    scan_id = scan.demo_scan_id(WHEN)
    assert scan_id == "demo-20250127-103000"
    assert re.fullmatch(scan.DEMO_SCAN_ID_PATTERN, scan_id)
    assert scan.valid_scan_id(scan_id) and scan_api_accepts(scan_id)


@pytest.mark.parametrize("scan_id", ["", "a" * 256, "with space", "dot.ted", "ümlaut"])
def test_invalid_scan_ids_are_refused_by_the_rule_and_the_api(scan_id: str) -> None:
    assert not scan.valid_scan_id(scan_id)
    assert not scan_api_accepts(scan_id)


FULL = ScanRunConfig(
    organization_id="org-1",
    scan_type="incremental",
    include_archived=True,
    properties=("amount", "dealstage"),
    start_date="2024-01-01",
    end_date="2024-12-31",
    pipeline="default",
    access_token_env="ORG_1_TOKEN",
    access_token_ciphertext="gAAAA-access",
    oauth_refresh_token_ciphertext="gAAAA-refresh",
)


@pytest.mark.parametrize("config", [FULL, ScanRunConfig()], ids=["every-field", "defaults"])
def test_run_config_build_then_parse_is_identity(config: ScanRunConfig) -> None:
    run_config = config.run_config()
    assert list(run_config["ops"]) == [scan.SCAN_OP_NAME]
    assert ScanRunConfig.from_run_config(run_config) == config


def test_every_field_is_set_by_the_full_example_and_written_by_name() -> None:
    defaults = ScanRunConfig()
    unset = [
        f.name
        for f in dataclasses.fields(FULL)
        if getattr(FULL, f.name) == getattr(defaults, f.name)
    ]
    assert unset == []
    written = FULL.run_config()["ops"]["hubspot_scan"]["config"]
    assert written == {
        "organization_id": "org-1",
        "scan_type": "incremental",
        "include_archived": True,
        "properties": ["amount", "dealstage"],
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "pipeline": "default",
        "access_token_env": "ORG_1_TOKEN",
        "access_token_ciphertext": "gAAAA-access",
        "oauth_refresh_token_ciphertext": "gAAAA-refresh",
    }
    assert ScanRunConfig().run_config() == {
        "ops": {"hubspot_scan": {"config": {"scan_type": "full", "include_archived": False}}}
    }


def test_run_config_fields_are_the_scan_ops_config_fields() -> None:
    from hubspot_deals.defs.assets.scan import ScanConfig

    contract = {f.name for f in dataclasses.fields(ScanRunConfig)}
    assert contract == set(ScanConfig.model_fields)


def test_empty_properties_mean_every_property() -> None:
    assert ScanRunConfig(properties=()).properties is None
    assert (
        "properties"
        not in ScanRunConfig(properties=()).run_config()["ops"]["hubspot_scan"]["config"]
    )


@pytest.mark.parametrize(
    "run_config", [{}, None, {"ops": {}}, {"ops": {"other_op": {"config": {}}}}]
)
def test_a_run_without_scan_config_parses_as_the_defaults(run_config: dict | None) -> None:
    assert ScanRunConfig.from_run_config(run_config) == ScanRunConfig()


def test_scan_run_config_encrypts_the_token(project_home: Path) -> None:
    run_config = scan.scan_run_config("org", "pat-na1-secret", ["amount"], True, scan_type="full")
    parsed = ScanRunConfig.from_run_config(run_config)
    assert "pat-na1-secret" not in str(run_config)
    assert TokenCipher.from_settings().decrypt(parsed.access_token_ciphertext or "") == (
        "pat-na1-secret"
    )
    assert dataclasses.replace(parsed, access_token_ciphertext=None) == ScanRunConfig(
        organization_id="org", include_archived=True, properties=("amount",)
    )


START = WHEN.timestamp()


@pytest.mark.parametrize(
    ("tags", "started", "now", "age"),
    [
        ({Tag.HEARTBEAT: "2025-01-27T10:31:00+00:00"}, START, START + 660, 600.0),
        ({Tag.HEARTBEAT: "2025-01-27T10:31:00Z"}, START, START + 61.5, 1.5),
        ({Tag.HEARTBEAT: "2025-01-27T10:31:00"}, START, START + 60, 0.0),  # no zone: UTC
        # A re-execution copies its parent's older heartbeat: its own start is newer.
        ({Tag.HEARTBEAT: "2025-01-27T10:00:00+00:00"}, START, START + 5, 5.0),
        ({Tag.HEARTBEAT: "not a time"}, START, START + 7, 7.0),
        ({}, START, START + 9, 9.0),
        ({}, None, START, None),
    ],
)
def test_heartbeat_age(tags: dict, started: float | None, now: float, age: float | None) -> None:
    assert scan.heartbeat_age(tags, started, now) == age


def test_crash_rule_is_strictly_older_than_the_timeout() -> None:
    tags = {Tag.HEARTBEAT: "2025-01-27T10:31:00+00:00"}
    beat = START + 60
    assert not scan.has_crashed(tags, START, beat + 600, 600)
    assert scan.has_crashed(tags, START, beat + 600.001, 600)
    assert not scan.has_crashed({}, None, beat + 10_000, 600)  # no sign of life: not judged


def test_the_shims_status_mapping_reads_the_same_crash_rule() -> None:
    from api_shim.dagster import DagsterRun
    from api_shim.services.scan_runs import run_status

    def started_run(heartbeat: str) -> DagsterRun:
        return DagsterRun(
            run_id="r1", status="STARTED", tags={Tag.HEARTBEAT: heartbeat}, start_time=START,
            end_time=None, creation_time=START, update_time=None, parent_run_id=None,
            run_config={}, job_name="scan_job",
        )  # fmt: skip

    run = started_run("2025-01-27T10:31:00+00:00")
    assert run_status(run, None, START + 660, 600) == "running"
    assert run_status(run, None, START + 660.5, 600) == "crashed"


def test_resume_tags_carry_the_scan_over() -> None:
    previous = {
        Tag.PARTITION: "s-1",
        Tag.ORGANIZATION: "org",
        Tag.SCAN_TYPE: "incremental",
        Tag.TENANT_URL: "https://app.hubspot.com",
        Tag.BATCH_SIZE: "50",
        Tag.HEARTBEAT: "2025-01-27T10:31:00+00:00",
        Tag.RESUME_ATTEMPT: "1",
    }
    assert scan.resume_tags(previous, "run-1", "auto_resume", attempt=2) == {
        Tag.ORGANIZATION: "org",
        Tag.SCAN_TYPE: "incremental",
        Tag.TENANT_URL: "https://app.hubspot.com",
        Tag.BATCH_SIZE: "50",
        Tag.TRIGGER: "auto_resume",
        Tag.RESUMED_FROM: "run-1",
        Tag.RESUME_ATTEMPT: "2",
    }
    assert scan.resume_tags({}, "run-2", "api_resume") == {
        Tag.TRIGGER: "api_resume",
        Tag.RESUMED_FROM: "run-2",
    }


def test_status_groups_cover_the_scan_apis_statuses_once() -> None:
    from api_shim.models.scans import SCAN_STATUSES

    grouped = scan.ACTIVE_STATUSES + scan.FINISHED_STATUSES + ("paused",)
    assert sorted(grouped) == sorted(SCAN_STATUSES)
    assert set(scan.RESUMABLE_STATUSES) <= set(SCAN_STATUSES)
    assert scan.ACTIVE_RUN_STATUSES.isdisjoint(scan.TERMINAL_RUN_STATUSES)


def test_the_contract_imports_neither_dagster_dlt_nor_fastapi() -> None:
    """Nor does the reader of failed runs, which the shim and the launch share."""
    code = (
        "import sys, hubspot_deals.scan, hubspot_deals.run_failure; "
        "print(sorted(m for m in ('dagster', 'dlt', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_the_definitions_do_not_import_the_in_process_launcher() -> None:
    """No circle definitions -> sensors/schedules -> launch -> definitions: launch.py is a client
    of the wired definitions, like the CLI."""
    code = (
        "import sys, hubspot_deals.defs.definitions; "
        "print('hubspot_deals.defs.launch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
