"""The asset factory and the Component: two HubSpot portals side by side in one `Definitions`,
each scanned into its own DuckDB file, and a host project that adds a portal with a defs.yaml."""

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, Definitions, load_from_defs_folder
from dagster.components.testing import create_defs_folder_sandbox

from hubspot_deals.defs.component import HubSpotDealsComponent
from hubspot_deals.defs.factory import hubspot_assets
from hubspot_deals.defs.resources import HubSpotResource, ScanDestination
from hubspot_deals.scan import Tag
from hubspot_deals.settings import DATASET_NAME
from hubspot_sandbox.process import SandboxServer

# Two portals of different sizes: each instance's rows are counted apart.
EU_DEALS, EU_SEED = 130, 11
US_DEALS, US_SEED = 70, 12
SCAN_TABLES = ("deals", "users", "pipelines", "pipeline_stages", "deal_properties", "deal_summary")


@pytest.fixture(scope="module")
def portals() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    with (
        SandboxServer(deals=EU_DEALS, seed=EU_SEED) as eu,
        SandboxServer(deals=US_DEALS, seed=US_SEED) as us,
    ):
        yield eu, us


def table_counts(path: Path, scan_id: str) -> dict[str, int]:
    """Rows of the scan in every table of a DuckDB file, and the organizations they carry."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = {
            table: con.execute(
                f'SELECT count(*) FROM {DATASET_NAME}."{table}" WHERE _scan_id = ?', [scan_id]
            ).fetchone()[0]
            for table in SCAN_TABLES
        }
        counts["organizations"] = sorted(
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT _organization_id FROM {DATASET_NAME}.deals"
            ).fetchall()
        )
    finally:
        con.close()
    return counts


def expected_counts(portal: SandboxServer, organization: str) -> dict[str, object]:
    """What one scan of the portal loads, from the sandbox's own account model."""
    account = portal.account()
    return {
        "deals": account.live_count,
        "users": len(account.owners()) + len(account.owners(archived=True)),
        "pipelines": len(account.pipelines()),
        "pipeline_stages": sum(len(p["stages"]) for p in account.pipelines()),
        "deal_properties": len(account.property_definitions()),
        "deal_summary": 1,
        "organizations": [organization],
    }


def scan(defs: Definitions, instance: DagsterInstance, prefix: str, scan_id: str) -> str:
    """One partition of the instance's scan job, as a host project's UI or sensor runs it."""
    instance.add_dynamic_partitions(f"{prefix}_scans", [scan_id])
    result = defs.resolve_job_def(f"{prefix}_scan_job").execute_in_process(
        instance=instance, partition_key=scan_id, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result.run_id


def test_two_portals_load_side_by_side_and_each_scans_into_its_own_destination(
    project_home: Path,
    instance: DagsterInstance,
    portals: tuple[SandboxServer, SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eu, us = portals
    monkeypatch.setenv("EU_HUBSPOT_TOKEN", eu.token)
    monkeypatch.setenv("US_HUBSPOT_TOKEN", us.token)
    files = {"hubspot_eu": project_home / "eu.duckdb", "hubspot_us": project_home / "us.duckdb"}
    defs = Definitions.merge(
        hubspot_assets(
            key_prefix="hubspot_eu",
            organization="acme-eu",
            hubspot=HubSpotResource(api_base_url=eu.base_url, access_token_env="EU_HUBSPOT_TOKEN"),
            destination=ScanDestination(kind="duckdb", duckdb_path=str(files["hubspot_eu"])),
        ),
        hubspot_assets(
            key_prefix="hubspot_us",
            organization="acme-us",
            hubspot=HubSpotResource(api_base_url=us.base_url, access_token_env="US_HUBSPOT_TOKEN"),
            destination=ScanDestination(kind="duckdb", duckdb_path=str(files["hubspot_us"])),
        ),
    )
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert sorted(job.name for job in repo.get_all_jobs()) == [
        "__ASSET_JOB",
        "hubspot_eu_scan_job",
        "hubspot_us_scan_job",
    ]
    assert sorted(key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()) == sorted(
        f"{prefix}/{table}" for prefix in files for table in SCAN_TABLES
    )
    assert len(repo.asset_graph.asset_check_keys) == 8
    assert sorted(sensor.name for sensor in repo.sensor_defs) == [
        "hubspot_eu_detect_crashed_scans", "hubspot_eu_resume_failed_scans",
        "hubspot_us_detect_crashed_scans", "hubspot_us_resume_failed_scans",
    ]  # fmt: skip
    assert sorted(defs.resources) == [
        "hubspot_eu_destination", "hubspot_eu_dlt", "hubspot_eu_hubspot",
        "hubspot_us_destination", "hubspot_us_dlt", "hubspot_us_hubspot",
    ]  # fmt: skip

    # The same scan id in both portals: partitions, dlt state and rows stay apart.
    runs = {prefix: scan(defs, instance, prefix, "2026-12-06") for prefix in files}

    assert table_counts(files["hubspot_eu"], "2026-12-06") == expected_counts(eu, "acme-eu")
    assert table_counts(files["hubspot_us"], "2026-12-06") == expected_counts(us, "acme-us")
    # The sandbox's figures, written out (130 and 70 deals, 6 and 4 of them archived).
    assert table_counts(files["hubspot_eu"], "2026-12-06")["deals"] == 124
    assert table_counts(files["hubspot_us"], "2026-12-06")["deals"] == 66
    for prefix, organization in (("hubspot_eu", "acme-eu"), ("hubspot_us", "acme-us")):
        run = instance.get_run_by_id(runs[prefix])
        assert run.tags[Tag.ORGANIZATION] == organization
        assert run.tags[Tag.PARTITION] == "2026-12-06"
        mat = instance.get_latest_materialization_event(AssetKey([prefix, "deals"]))
        assert mat.asset_materialization.partition == "2026-12-06"
        assert mat.asset_materialization.metadata["organization_id"].value == organization
    assert not (project_home / "hubspot_deals.duckdb").exists()  # the environment's default


def test_each_portal_detects_and_resumes_its_own_crashed_scans(instance: DagsterInstance) -> None:
    """An instance's sensors watch its own scan job only: a silent run of the other portal is
    the other's to mark failed."""
    from dagster import (
        DagsterEventType,
        DagsterRunStatus,
        RunRequest,
        build_run_status_sensor_context,
        build_sensor_context,
    )
    from dagster._core.test_utils import create_run_for_test

    defs = Definitions.merge(hubspot_assets("hubspot_eu"), hubspot_assets("hubspot_us"))
    repo = defs.get_repository_def()
    stale = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(timespec="seconds")
    runs = {}
    for prefix in ("hubspot_eu", "hubspot_us"):
        instance.add_dynamic_partitions(f"{prefix}_scans", ["silent"])
        runs[prefix] = create_run_for_test(
            instance, job_name=f"{prefix}_scan_job", status=DagsterRunStatus.STARTED,
            run_config={"ops": {f"{prefix}_scan": {"config": {"organization_id": "o"}}}},
            tags={Tag.PARTITION: "silent", Tag.ORGANIZATION: "o", Tag.HEARTBEAT: stale},
        )  # fmt: skip

    crash = repo.get_sensor_def("hubspot_eu_detect_crashed_scans")
    result = crash(build_sensor_context(instance=instance, repository_def=repo))
    assert result.skip_message == f"marked 1 crashed run(s) failed: {runs['hubspot_eu'].run_id}"
    assert instance.get_run_by_id(runs["hubspot_us"].run_id).status == DagsterRunStatus.STARTED

    failure = instance.get_records_for_run(
        runs["hubspot_eu"].run_id, of_type=DagsterEventType.RUN_FAILURE
    ).records[0]
    resume = repo.get_sensor_def("hubspot_eu_resume_failed_scans")
    request = resume(
        build_run_status_sensor_context(
            sensor_name="hubspot_eu_resume_failed_scans",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(runs["hubspot_eu"].run_id),
            dagster_event=failure.event_log_entry.dagster_event,
        ).for_run_failure()
    )
    assert isinstance(request, RunRequest)
    assert request.partition_key == "silent"
    assert request.run_config == {"ops": {"hubspot_eu_scan": {"config": {"organization_id": "o"}}}}
    assert request.tags[Tag.RESUMED_FROM] == runs["hubspot_eu"].run_id


def write_host_project(root: Path) -> None:
    """A host Dagster project (dg layout) whose defs folder adds one HubSpot portal."""
    defs = root / "src" / "host_project" / "defs"
    (defs / "hubspot_eu").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "host-project"
            version = "0.1.0"

            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "host_project"
            """
        )
    )
    (root / "src" / "host_project" / "__init__.py").write_text("")
    (defs / "__init__.py").write_text("")
    (defs / "hubspot_eu" / "defs.yaml").write_text(
        textwrap.dedent(
            """\
            type: hubspot_deals.defs.component.HubSpotDealsComponent
            attributes:
              key_prefix: hubspot_eu
              organization: acme-eu
              hubspot:
                api_base_url: "{{ env.EU_HUBSPOT_URL }}"
                access_token_env: EU_HUBSPOT_TOKEN
              destination:
                kind: duckdb
                duckdb_path: data/hubspot_eu.duckdb
            """
        )
    )


def test_a_host_project_adds_a_portal_with_a_defs_yaml(
    project_home: Path,
    instance: DagsterInstance,
    portals: tuple[SandboxServer, SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    eu, _ = portals
    monkeypatch.setenv("EU_HUBSPOT_URL", eu.base_url)
    monkeypatch.setenv("EU_HUBSPOT_TOKEN", eu.token)
    host = tmp_path / "host"
    write_host_project(host)
    monkeypatch.syspath_prepend(str(host / "src"))

    defs = load_from_defs_folder(path_within_project=host)
    Definitions.validate_loadable(defs)
    hubspot = defs.resources["hubspot_eu_hubspot"]
    assert (hubspot.api_base_url, hubspot.access_token_env, hubspot.organization_id) == (
        eu.base_url,
        "EU_HUBSPOT_TOKEN",
        "acme-eu",
    )
    destination = defs.resources["hubspot_eu_destination"]
    assert destination.duckdb_path == str(host / "data" / "hubspot_eu.duckdb")

    scan(defs, instance, "hubspot_eu", "from-yaml")
    assert table_counts(host / "data" / "hubspot_eu.duckdb", "from-yaml") == expected_counts(
        eu, "acme-eu"
    )


def test_dg_finds_the_component_and_scaffold_defs_writes_a_filled_in_defs_yaml() -> None:
    from dagster.components.core.package_entry import discover_entry_point_package_objects

    # What `dg list components` lists: the package's registry entry point.
    registered = {
        key.to_typename(): obj
        for key, obj in discover_entry_point_package_objects().items()
        if key.to_typename().startswith("hubspot_deals.")
    }
    assert registered == {
        "hubspot_deals.defs.component.HubSpotDealsComponent": HubSpotDealsComponent
    }
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(HubSpotDealsComponent, defs_path="hubspot_eu")
        written = yaml.safe_load((path / "defs.yaml").read_text())
        assert written == {
            "type": "hubspot_deals.defs.component.HubSpotDealsComponent",
            "attributes": {
                "key_prefix": "hubspot_eu",
                "organization": "hubspot_eu",
                "hubspot": {"access_token_env": "HUBSPOT_ACCESS_TOKEN"},
                "destination": {"kind": "duckdb", "duckdb_path": "hubspot_eu.duckdb"},
            },
        }
        with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
            assert isinstance(component, HubSpotDealsComponent)
            assert defs.resolve_job_def("hubspot_eu_scan_job").tags == {
                Tag.ORGANIZATION: "hubspot_eu"
            }


ALLOCATOR_AND_DLT = (
    "ARROW_DEFAULT_MEMORY_POOL",
    "MALLOC_ARENA_MAX",
    "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION",
    "LOAD__DELETE_COMPLETED_JOBS",
)


def test_importing_the_factory_and_definitions_changes_no_environment(tmp_path: Path) -> None:
    """A host project's process keeps its own allocator and dlt settings: nothing is set at
    import or when definitions are built (the scan's run worker sets them when it runs)."""
    code = textwrap.dedent(
        """\
        import json, os
        before = dict(os.environ)
        from dagster import Definitions
        from hubspot_deals.defs.factory import hubspot_assets
        from hubspot_deals.defs.component import HubSpotDealsComponent
        from hubspot_deals.defs.definitions import defs
        Definitions.validate_loadable(Definitions.merge(defs, hubspot_assets("eu")))
        changed = {k: [before.get(k), os.environ.get(k)]
                   for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}
        print(json.dumps(changed))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_AND_DLT}
    env.update(HUBSPOT_DEALS_HOME=str(tmp_path / "home"), DAGSTER_HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}
