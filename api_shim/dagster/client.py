"""The one Dagster GraphQL client: every call the shim makes (partitions, runs, marks, a run's
failure and materializations, health), each mapped to a result or a specific exception.

The documents are in `documents`, the HTTP transport (timeouts, joined reads, recent answers)
in `transport`, the reading of a failed run's events in `failures`.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api_shim.dagster.documents import (
    ADD_PARTITION,
    ASSET_OBSERVATIONS,
    HEALTH,
    LAUNCH_RUN,
    NEXT_TICK,
    PROPERTY_SYNC_RUN,
    REMOVE_PARTITIONS,
    REMOVE_RUN,
    REPORT_OBSERVATION,
    RUN_EVENTS,
    RUN_MATERIALIZATIONS,
    RUNS,
    TERMINATE_RUN,
)
from api_shim.dagster.failures import FailureEvents
from api_shim.dagster.transport import GraphQLTransport
from api_shim.errors import DagsterError, redact
from hubspot_deals.run_failure import RunFailure
from hubspot_deals.scan import SCANS_PARTITIONS_NAME


@dataclass(frozen=True)
class DagsterRun:
    """The fields of a Dagster run the shim maps to a scan."""

    run_id: str
    job_name: str
    status: str
    creation_time: float
    start_time: float | None
    end_time: float | None
    update_time: float | None
    parent_run_id: str | None
    tags: dict[str, str]
    run_config: dict[str, Any]

    @classmethod
    def from_graphql(cls, data: dict[str, Any]) -> "DagsterRun":
        config = data.get("runConfig")
        return cls(
            run_id=data["runId"],
            job_name=data.get("jobName") or "",
            status=data["status"],
            creation_time=float(data.get("creationTime") or 0.0),
            start_time=data.get("startTime"),
            end_time=data.get("endTime"),
            update_time=data.get("updateTime"),
            parent_run_id=data.get("parentRunId"),
            tags={t["key"]: t["value"] for t in data.get("tags") or []},
            run_config=config if isinstance(config, dict) else {},
        )


@dataclass(frozen=True)
class Materialization:
    """One asset materialization of a run: its table, row count and column names."""

    asset_path: tuple[str, ...]
    rows: int | None
    columns: list[str] | None = field(default=None)


@dataclass(frozen=True)
class DagsterHealth:
    version: str
    location_loaded: bool
    location_detail: str
    daemons: list[dict[str, Any]]


class DagsterClient(GraphQLTransport):
    """GraphQL calls the shim makes, over the transport's timeouts, joined reads and recent
    runs answers (see `GraphQLTransport`)."""

    # -- partitions --------------------------------------------------------------------------

    def add_partition(self, key: str, partitions_def: str = SCANS_PARTITIONS_NAME) -> bool:
        """Adds the scan's partition (or one of `partitions_def`); False when it already
        existed."""
        result = self._typed(
            self.execute(
                ADD_PARTITION,
                {"repo": self.settings.repository_selector, "def": partitions_def, "key": key},
            ),
            "addDynamicPartition",
        )
        kind = result["__typename"]
        if kind == "AddDynamicPartitionSuccess":
            return True
        if kind == "DuplicateDynamicPartitionError":
            return False
        # Dagster reports an unknown location/partitions def as UnauthorizedError.
        raise DagsterError(
            f"Dagster could not add partition to '{partitions_def}' in "
            f"location '{self.settings.location_name}': {result.get('message')}"
        )

    def delete_partition(self, key: str) -> None:
        result = self._typed(
            self.execute(
                REMOVE_PARTITIONS,
                {
                    "repo": self.settings.repository_selector,
                    "def": SCANS_PARTITIONS_NAME,
                    "keys": [key],
                },
            ),
            "deleteDynamicPartitions",
        )
        if result["__typename"] != "DeleteDynamicPartitionsSuccess":
            raise DagsterError(f"Dagster could not delete partition: {result.get('message')}")

    # -- runs --------------------------------------------------------------------------------

    def launch_run(
        self,
        run_config: dict[str, Any],
        tags: dict[str, str],
        job_name: str | None = None,
        asset_paths: Sequence[Sequence[str]] | None = None,
    ) -> str:
        """Launches the scan job (or `job_name`), limited to `asset_paths` and their checks
        when given."""
        selector: dict[str, Any] = {
            **self.settings.repository_selector,
            "jobName": job_name or self.settings.job_name,
        }
        if asset_paths is not None:
            selector["assetSelection"] = [{"path": list(p)} for p in asset_paths]
        params = {
            "selector": selector,
            "runConfigData": run_config,
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self._typed(self.execute(LAUNCH_RUN, {"params": params}), "launchRun")
        kind = result["__typename"]
        if kind == "LaunchRunSuccess":
            return result["run"]["runId"]
        if kind == "RunConfigValidationInvalid":
            detail = "; ".join(e["message"] for e in result.get("errors") or [])
            raise DagsterError(f"Dagster rejected the scan's run config: {redact(detail)[:800]}")
        raise DagsterError(f"Dagster could not launch the scan ({kind}): {result.get('message')}")

    def runs(
        self,
        tags: dict[str, str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        fresh: bool = False,
    ) -> list[DagsterRun]:
        """Runs, newest first, optionally filtered by tags (all must match). `fresh` asks
        Dagster anew instead of joining an identical read under way (before a decision)."""
        run_filter = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        variables = {"filter": run_filter, "limit": limit, "cursor": cursor}
        result = self._typed(
            self.execute(RUNS, variables) if fresh else self._recent_read(RUNS, variables),
            "runsOrError",
        )
        if result["__typename"] != "Runs":
            raise DagsterError(f"Dagster could not list runs: {result.get('message')}")
        return [DagsterRun.from_graphql(r) for r in result["results"]]

    def all_runs(
        self, tags: dict[str, str] | None = None, page: int = 500, fresh: bool = False
    ) -> list[DagsterRun]:
        """Every run matching `tags`, newest first, fetched in pages."""
        runs: list[DagsterRun] = []
        cursor = None
        while True:
            batch = self.runs(tags, limit=page, cursor=cursor, fresh=fresh)
            runs.extend(batch)
            if len(batch) < page:
                return runs
            cursor = batch[-1].run_id

    def terminate_run(self, run_id: str, force: bool = False) -> bool:
        """Asks the run to stop; False when Dagster refused: the run is unknown, finished, or
        (SAFE_TERMINATE) in a status other than QUEUED and STARTED, the only two Dagster's
        `terminateRun` stops; a STARTING run is refused. `force` (MARK_AS_CANCELED_IMMEDIATELY)
        marks any unfinished run CANCELED without waiting for it to stop."""
        policy = "MARK_AS_CANCELED_IMMEDIATELY" if force else "SAFE_TERMINATE"
        result = self._typed(
            self.execute(TERMINATE_RUN, {"runId": run_id, "policy": policy}), "terminateRun"
        )
        kind = result["__typename"]
        if kind == "TerminateRunSuccess":
            return True
        if kind in ("TerminateRunFailure", "RunNotFoundError"):
            return False
        raise DagsterError(f"Dagster could not terminate run {run_id}: {result.get('message')}")

    # -- asset observations -----------------------------------------------------------------------

    def report_observation(
        self, asset_path: Sequence[str], partition: str, description: str
    ) -> None:
        """Records a runless observation of one partition of an asset (shown in the Dagster UI)."""
        params = {
            "eventType": "ASSET_OBSERVATION",
            "assetKey": {"path": list(asset_path)},
            "partitionKeys": [partition],
            "description": description,
        }
        result = self._typed(
            self.execute(REPORT_OBSERVATION, {"params": params}), "reportRunlessAssetEvents"
        )
        if result["__typename"] != "ReportRunlessAssetEventsSuccess":
            raise DagsterError(f"Dagster could not record an observation: {result.get('message')}")

    def observations(
        self, asset_path: Sequence[str], partition: str, limit: int = 100
    ) -> list[str]:
        """Descriptions of the partition's observations, newest first."""
        variables = {"key": {"path": list(asset_path)}, "partitions": [partition], "limit": limit}
        result = self._typed(self.execute(ASSET_OBSERVATIONS, variables), "assetOrError")
        if result["__typename"] != "Asset":
            return []  # the asset was never materialized or observed
        events = sorted(
            result.get("assetObservations") or [],
            key=lambda e: float(e.get("timestamp") or 0),
            reverse=True,
        )
        return [e["description"] for e in events if e.get("description")]

    def delete_run(self, run_id: str) -> None:
        result = self._typed(self.execute(REMOVE_RUN, {"runId": run_id}), "deleteRun")
        if result["__typename"] not in ("DeletePipelineRunSuccess", "RunNotFoundError"):
            raise DagsterError(f"Dagster could not delete run {run_id}: {result.get('message')}")

    def run_failure(self, run_id: str) -> RunFailure:
        """The readable cause of a failed run, from its step and run failure events."""
        events = FailureEvents()
        cursor = None
        for _ in range(50):  # at most 50 pages of 1000 events
            result = self._typed(
                self.read(RUN_EVENTS, {"runId": run_id, "cursor": cursor, "limit": 1000}),
                "logsForRun",
            )
            if result["__typename"] != "EventConnection":
                return RunFailure(message=None)
            events.add(result["events"])
            cursor = result.get("cursor")
            if not result.get("hasMore"):
                break
        return events.failure()

    def run_materializations(self, run_id: str) -> list[Materialization]:
        result = self._typed(self.read(RUN_MATERIALIZATIONS, {"runId": run_id}), "runOrError")
        if result["__typename"] != "Run":
            return []
        out = []
        for mat in result.get("assetMaterializations") or []:
            rows = None
            columns = None
            for entry in mat.get("metadataEntries") or []:
                label = entry.get("label")
                if label in ("dagster/partition_row_count", "rows_loaded") and rows is None:
                    rows = int(entry["intRepr"]) if entry.get("intRepr") else None
                elif label == "dagster/column_schema" and entry.get("schema"):
                    columns = [c["name"] for c in entry["schema"].get("columns") or []]
            out.append(Materialization(tuple(mat["assetKey"]["path"]), rows, columns))
        return out

    def property_sync_run(self, run_id: str) -> dict[str, Any] | None:
        """A property sync run: status, times, and each asset's materialization metadata
        (`{object type: {label: value}}`, JSON entries decoded); None for an unknown run."""
        result = self._typed(self.execute(PROPERTY_SYNC_RUN, {"runId": run_id}), "runOrError")
        if result["__typename"] != "Run":
            return None
        reports: dict[str, dict[str, Any]] = {}
        for mat in result.get("assetMaterializations") or []:
            values: dict[str, Any] = {}
            for entry in mat.get("metadataEntries") or []:
                if entry.get("intRepr") is not None:
                    values[entry["label"]] = int(entry["intRepr"])
                elif entry.get("jsonString") is not None:
                    values[entry["label"]] = json.loads(entry["jsonString"])
            reports[mat["assetKey"]["path"][-1]] = values
        return {
            "status": result["status"],
            "start_time": result.get("startTime"),
            "end_time": result.get("endTime"),
            "reports": reports,
        }

    def next_tick(self, schedule_name: str) -> float | None:
        """When the schedule next ticks (epoch seconds); None when it is unknown or stopped."""
        selector = {
            "repositoryLocationName": self.settings.location_name,
            "repositoryName": self.settings.repository_selector["repositoryName"],
            "scheduleName": schedule_name,
        }
        result = self._typed(self.read(NEXT_TICK, {"selector": selector}), "scheduleOrError")
        if result["__typename"] != "Schedule":
            return None
        ticks = (result.get("futureTicks") or {}).get("results") or []
        return float(ticks[0]["timestamp"]) if ticks else None

    # -- health ------------------------------------------------------------------------------

    def health(self) -> DagsterHealth:
        data = self.read(HEALTH)
        workspace = data.get("workspaceOrError") or {}
        loaded, detail = False, f"location '{self.settings.location_name}' not in the workspace"
        for entry in workspace.get("locationEntries") or []:
            if entry.get("name") != self.settings.location_name:
                continue
            location = entry.get("locationOrLoadError") or {}
            kind = location.get("__typename")
            if kind == "RepositoryLocation":
                loaded, detail = True, f"{entry['name']} loaded"
            elif kind == "PythonError":
                first = (location.get("message") or "").strip().splitlines()[:1]
                detail = f"{entry['name']} failed to load: {redact(''.join(first))[:300]}"
            else:
                detail = f"{entry['name']} is {str(entry.get('loadStatus', 'loading')).lower()}"
        daemon_health = ((data.get("instance") or {}).get("daemonHealth") or {}).get(
            "allDaemonStatuses"
        ) or []
        return DagsterHealth(str(data.get("version") or ""), loaded, detail, daemon_health)
