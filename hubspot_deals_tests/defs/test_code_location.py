"""The code location under a real `dagster dev`: loads cleanly and runs a scan like the UI does."""

import time

import pytest

from hubspot_deals.defs.partitions import scans_partitions
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.servers import DagsterDev
from hubspot_deals_tests.source.standin import StandIn

REPO = {"repositoryLocationName": "hubspot_deals", "repositoryName": "__repository__"}

WORKSPACE = """
{ workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message }
      ... on RepositoryLocation { repositories { name jobs { name }
        assetNodes { assetKey { path } groupName kinds description
                     dependencyKeys { path } } } } } } } } }
"""
ADD_PARTITION = """
mutation($sel: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $sel, partitionsDefName: "scans", partitionKey: $key) {
    __typename } }
"""
LAUNCH = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"


@pytest.mark.slow
def test_dagster_dev_loads_location_and_runs_a_scan_from_env_token(
    project_home, monkeypatch, tmp_path
) -> None:
    token = fake_token()
    with StandIn(token) as standin:
        env = {
            "HUBSPOT_API_BASE_URL": standin.base_url,
            "HUBSPOT_ACCESS_TOKEN": token,
        }
        with DagsterDev(env, tmp_path) as dagster:
            entry = dagster.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"][0]
            location = entry["locationOrLoadError"]
            assert entry["name"] == "hubspot_deals"
            assert location["__typename"] == "RepositoryLocation", location
            repo = location["repositories"][0]
            assert [j["name"] for j in repo["jobs"]] == [
                "__ASSET_JOB",
                "deals_current_job",
                "property_sync_job",
                "scan_job",
            ]
            nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
            loaded = ["hubspot/deal_properties", "hubspot/deals", "hubspot/pipeline_stages",
                      "hubspot/pipelines", "hubspot/users"]  # fmt: skip
            definitions = [
                f"hubspot/property_definitions/{t}" for t in ("contacts", "leads", "deals")
            ]
            assert sorted(nodes) == sorted(
                [*loaded, "hubspot/deal_summary", "hubspot/deals_current", *definitions]
            )
            for key in loaded:
                assert nodes[key]["groupName"] == "hubspot"
                assert sorted(nodes[key]["kinds"]) == ["dlt", "duckdb", "hubspot"]
                assert nodes[key]["dependencyKeys"] == []  # no phantom upstream assets
                assert nodes[key]["description"]
            summary = nodes["hubspot/deal_summary"]
            assert summary["dependencyKeys"] == [{"path": ["hubspot", "deals"]}]

            added = dagster.graphql(ADD_PARTITION, {"sel": REPO, "key": "ui-scan"})
            assert added["addDynamicPartition"]["__typename"] == "AddDynamicPartitionSuccess"
            launched = dagster.graphql(
                LAUNCH,
                {
                    "p": {
                        "selector": {**REPO, "jobName": "scan_job"},
                        "runConfigData": {},
                        "executionMetadata": {
                            "tags": [{"key": "dagster/partition", "value": "ui-scan"}]
                        },
                    }
                },
            )["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            run_id = launched["run"]["runId"]
            deadline = time.monotonic() + 180
            status = None
            while time.monotonic() < deadline:
                run = dagster.graphql(RUN, {"id": run_id})["runOrError"]
                status = run["status"]
                if status in ("SUCCESS", "FAILURE", "CANCELED"):
                    break
                time.sleep(1)
            assert status == "SUCCESS", dagster.process.log_path.read_text()[-4000:]
            tags = {t["key"]: t["value"] for t in run["tags"]}
            assert tags["hubspot_deals/records_extracted"] == "225"
            assert tags["hubspot_deals/expected_records"] == "225"
    assert scans_partitions.name == "scans"
    rows = scan_rows("deals", "ui-scan")
    assert len(rows) == 225
    assert {r["_organization_id"] for r in rows} == {"default"}
