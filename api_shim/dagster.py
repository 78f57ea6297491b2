"""The one Dagster GraphQL client: raw GraphQL over HTTP, with timeouts.

Dagster answers typed errors with HTTP 200, resolver errors with HTTP 500 *and* a GraphQL body,
invalid queries with 400: the body is always parsed, the HTTP status never trusted alone (see
DAGSTER-GRAPHQL.md). An unreachable or silent webserver becomes `DagsterUnavailable` (503) within
the connect/read timeouts, never a hang.
"""

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from api_shim.errors import DagsterError, DagsterUnavailable, redact
from api_shim.settings import ApiSettings
from hubspot_deals.scan import SCANS_PARTITIONS_NAME

log = logging.getLogger(__name__)

RUN_FIELDS = """
  runId jobName status creationTime startTime endTime updateTime parentRunId
  tags { key value }
  runConfig
"""

RUNS = f"""
query Runs($filter: RunsFilter, $limit: Int, $cursor: String) {{
  runsOrError(filter: $filter, limit: $limit, cursor: $cursor) {{
    __typename
    ... on Runs {{ count results {{ {RUN_FIELDS} }} }}
    ... on InvalidPipelineRunsFilterError {{ message }}
    ... on PythonError {{ message }}
  }}
}}
"""

ADD_PARTITION = """
mutation AddPartition($repo: RepositorySelector!, $def: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: $def, partitionKey: $key) {
    __typename
    ... on DuplicateDynamicPartitionError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

DELETE_PARTITIONS = """
mutation DeletePartitions($repo: RepositorySelector!, $def: String!, $keys: [String!]!) {
  deleteDynamicPartitions(repositorySelector: $repo, partitionsDefName: $def,
                          partitionKeys: $keys) {
    __typename
    ... on UnauthorizedError { message }
    ... on UnsupportedOperationError { message }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

TERMINATE_RUN = """
mutation Terminate($runId: String!, $policy: TerminateRunPolicy) {
  terminateRun(runId: $runId, terminatePolicy: $policy) {
    __typename
    ... on TerminateRunSuccess { run { status } }
    ... on TerminateRunFailure { message }
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

DELETE_RUN = """
mutation DeleteRun($runId: String!) {
  deleteRun(runId: $runId) {
    __typename
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

RUN_EVENTS = """
query RunFailureEvents($runId: ID!, $cursor: String, $limit: Int) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events {
        __typename
        ... on MessageEvent { message level }
        ... on ExecutionStepFailureEvent {
          errorSource
          error { message className causes { message className } }
          failureMetadata {
            description metadataEntries { label ... on TextMetadataEntry { text } }
          }
        }
        ... on RunFailureEvent { error { message className } }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

RUN_MATERIALIZATIONS = """
query RunMaterializations($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intRepr }
          ... on TableSchemaMetadataEntry { schema { columns { name type } } }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

REPORT_OBSERVATION = """
mutation ReportObservation($params: ReportRunlessAssetEventsParams!) {
  reportRunlessAssetEvents(eventParams: $params) {
    __typename
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

ASSET_OBSERVATIONS = """
query AssetObservations($key: AssetKeyInput!, $partitions: [String!], $limit: Int) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset {
      assetObservations(partitions: $partitions, limit: $limit) { description timestamp }
    }
  }
}
"""

HEALTH = """
query Health {
  version
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy lastHeartbeatTime }
    }
  }
}
"""


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
class RunFailure:
    """Why a run failed, as readable as Dagster's events allow."""

    message: str | None
    category: str | None = None
    crashed: bool = False


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


# A step subprocess killed from outside (OOM killer, kill -9) fails the run with this class.
_CRASH_CLASSES = {"ChildProcessCrashException", "DagsterExecutionInterruptedError"}
# The code server's engine event when a run worker it started dies (kill -9, OOM killer).
_WORKER_DIED = re.compile(
    r"Run execution process for \S+ (was terminated by signal|unexpectedly exited)"
)


class _Flight:
    """One GraphQL read under way, whose answer every identical concurrent read shares."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.data: dict[str, Any] | None = None
        self.error: BaseException | None = None


@dataclass
class _Recent:
    """A recent answer to a runs query, and the mutation generation it was read in."""

    data: dict[str, Any]
    read_at: float
    generation: int
    refreshing: bool = False


RECENT_RUNS_LIMIT = 2048  # runs queries remembered (one per scan polled, plus list pages)


class DagsterClient:
    """GraphQL calls the shim makes, each mapped to a result or a specific exception.

    Runs queries (what a status, a results page or a list asks first) are answered from a recent
    answer when it is younger than `runs_cache_seconds / 4`. Between that and
    `runs_cache_seconds`, the recent answer is served while one background read replaces it, so
    clients polling a scan never wait for Dagster and no answer is older than
    `runs_cache_seconds`. Any mutation this shim sends (start, cancel, remove, marks) forgets
    every recent answer, so the shim's own changes show at once; `fresh` reads, made before a
    decision, always ask Dagster.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.url = settings.dagster_graphql_url
        self._local = threading.local()
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()
        self._recent: OrderedDict[str, _Recent] = OrderedDict()
        self._generation = 0  # counts this shim's mutations

    # -- transport ---------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # a proxy from the environment must not see Dagster calls
            self._local.session = session
        return session

    def read(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A read-only query; identical reads already under way are joined, not repeated.

        Many clients polling one scan then cost Dagster one query at a time, and no answer is
        older than a request that was already in flight when the client asked (no caching).
        """
        key = query + "\0" + json.dumps(variables or {}, sort_keys=True)
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            try:
                flight.data = self.execute(query, variables)
            except BaseException as exc:
                flight.error = exc
            finally:
                with self._flights_lock:
                    del self._flights[key]
                flight.done.set()
        else:
            wait = self.settings.dagster_connect_timeout_seconds
            flight.done.wait(wait + self.settings.dagster_timeout_seconds + 1)
        if flight.error is not None:
            raise flight.error
        if flight.data is None:
            raise DagsterUnavailable(f"Dagster did not answer in time at {self.url}")
        return flight.data

    def _recent_read(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`read`, answered from a recent answer when there is one (see the class)."""
        window = self.settings.dagster_runs_cache_seconds
        if window <= 0:
            return self.read(query, variables)
        key = query + "\0" + json.dumps(variables, sort_keys=True)
        now = time.monotonic()
        with self._flights_lock:
            recent = self._recent.get(key)
            if recent is not None and recent.generation == self._generation:
                age = now - recent.read_at
                if age < window / 4:
                    return recent.data
                if age < window:
                    if not recent.refreshing:
                        recent.refreshing = True
                        threading.Thread(
                            target=self._refresh, args=(key, query, variables), daemon=True
                        ).start()
                    return recent.data
            generation = self._generation
        data = self.read(query, variables)
        self._remember(key, data, now, generation)
        return data

    def _refresh(self, key: str, query: str, variables: dict[str, Any]) -> None:
        with self._flights_lock:
            generation = self._generation
        started = time.monotonic()
        try:
            data = self.read(query, variables)
        except Exception:  # the next request reads (and reports the failure) itself
            with self._flights_lock:
                recent = self._recent.get(key)
                if recent is not None:
                    recent.refreshing = False
            return
        self._remember(key, data, started, generation)

    def _remember(self, key: str, data: dict[str, Any], read_at: float, generation: int) -> None:
        with self._flights_lock:
            if generation != self._generation:
                return  # read before one of this shim's mutations: may not show it
            self._recent[key] = _Recent(data, read_at, generation)
            self._recent.move_to_end(key)
            while len(self._recent) > RECENT_RUNS_LIMIT:
                self._recent.popitem(last=False)

    def _forget_recent(self) -> None:
        with self._flights_lock:
            self._generation += 1
            self._recent.clear()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Runs one GraphQL document and returns its `data`."""
        if query.lstrip().startswith("mutation"):
            try:
                return self._execute(query, variables)
            finally:
                self._forget_recent()
        return self._execute(query, variables)

    def _execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        timeout = (
            self.settings.dagster_connect_timeout_seconds,
            self.settings.dagster_timeout_seconds,
        )
        try:
            response = self._session().post(
                self.url, json={"query": query, "variables": variables or {}}, timeout=timeout
            )
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ConnectTimeout):
                reason = f"no connection within {timeout[0]:g}s"
            elif isinstance(exc, requests.ReadTimeout):
                reason = f"no answer within {timeout[1]:g}s"
            else:
                reason = "connection refused"
            raise DagsterUnavailable(
                f"Dagster is unreachable at {self.url}: {reason}. "
                "Is the Dagster webserver (dagster dev or dagster-webserver) running?"
            ) from None
        except requests.Timeout:
            raise DagsterUnavailable(
                f"Dagster did not answer within {timeout[1]:g}s at {self.url}"
            ) from None
        except requests.RequestException as exc:
            raise DagsterUnavailable(f"Dagster request failed: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise DagsterUnavailable(
                f"Dagster answered HTTP {response.status_code} without a GraphQL body at "
                f"{self.url} (is HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL right?)"
            ) from None
        if not isinstance(body, dict):
            raise DagsterError("Dagster answered with an unexpected GraphQL body")
        if body.get("errors") and not body.get("data"):
            messages = "; ".join(str(e.get("message", e)) for e in body["errors"][:3])
            raise DagsterError(f"Dagster GraphQL error: {redact(messages)[:500]}")
        return body.get("data") or {}

    @staticmethod
    def _typed(data: dict[str, Any], name: str) -> dict[str, Any]:
        result = data.get(name)
        if not isinstance(result, dict):
            raise DagsterError(f"Dagster returned no {name} result")
        if result.get("__typename") == "PythonError":
            raise DagsterError(f"Dagster error in {name}: {redact(str(result.get('message')))}")
        return result

    # -- partitions --------------------------------------------------------------------------

    def add_partition(self, key: str) -> bool:
        """Adds the scan's partition; False when it already existed."""
        result = self._typed(
            self.execute(
                ADD_PARTITION,
                {
                    "repo": self.settings.repository_selector,
                    "def": SCANS_PARTITIONS_NAME,
                    "key": key,
                },
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
            f"Dagster could not add partition to '{SCANS_PARTITIONS_NAME}' in "
            f"location '{self.settings.location_name}': {result.get('message')}"
        )

    def delete_partition(self, key: str) -> None:
        result = self._typed(
            self.execute(
                DELETE_PARTITIONS,
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

    def launch_run(self, run_config: dict[str, Any], tags: dict[str, str]) -> str:
        params = {
            "selector": {
                **self.settings.repository_selector,
                "jobName": self.settings.job_name,
            },
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
        result = self._typed(self.execute(DELETE_RUN, {"runId": run_id}), "deleteRun")
        if result["__typename"] not in ("DeletePipelineRunSuccess", "RunNotFoundError"):
            raise DagsterError(f"Dagster could not delete run {run_id}: {result.get('message')}")

    def run_failure(self, run_id: str) -> RunFailure:
        """The readable cause of a failed run, from its step and run failure events."""
        step_failure: dict[str, Any] | None = None
        run_failure: dict[str, Any] | None = None
        worker_died: str | None = None
        error_logs: list[str] = []
        cursor = None
        for _ in range(50):  # at most 50 pages of 1000 events
            result = self._typed(
                self.read(RUN_EVENTS, {"runId": run_id, "cursor": cursor, "limit": 1000}),
                "logsForRun",
            )
            if result["__typename"] != "EventConnection":
                return RunFailure(message=None)
            for event in result["events"]:
                kind = event["__typename"]
                if kind == "ExecutionStepFailureEvent" and step_failure is None:
                    step_failure = event
                elif kind == "RunFailureEvent":
                    run_failure = event
                elif _WORKER_DIED.match(event.get("message") or ""):
                    worker_died = event["message"]
                elif event.get("level") == "ERROR" and event.get("message"):
                    error_logs.append(event["message"])
            cursor = result.get("cursor")
            if not result.get("hasMore"):
                break
        if worker_died is not None and step_failure is None:
            return RunFailure(_short_error(worker_died), crashed=True)
        return _failure_from_events(step_failure, run_failure, error_logs)

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


def _short_error(message: str) -> str:
    """`pkg.module.ErrorClass: text` -> `ErrorClass: text`, first paragraph, no traceback."""
    text = message.strip().split("\n\n")[0].strip()
    head, sep, rest = text.partition(": ")
    if sep and "." in head and " " not in head:
        text = head.rsplit(".", 1)[1] + ": " + rest
    return redact(" ".join(text.split()))[:1000]


def _failure_from_events(
    step: dict[str, Any] | None, run: dict[str, Any] | None, error_logs: list[str]
) -> RunFailure:
    if step is not None:
        error = step.get("error") or {}
        causes = error.get("causes") or []
        classes = {error.get("className")} | {c.get("className") for c in causes}
        crashed = bool(classes & _CRASH_CLASSES) and step.get("errorSource") != "USER_CODE_ERROR"
        meta = step.get("failureMetadata") or {}
        category = next(
            (
                e.get("text")
                for e in meta.get("metadataEntries") or []
                if e.get("label") == "error_category"
            ),
            None,
        )
        if meta.get("description"):
            return RunFailure(redact(meta["description"])[:1000], category, crashed)
        innermost = causes[-1] if causes else error
        if innermost.get("message"):
            return RunFailure(_short_error(innermost["message"]), category, crashed)
    if run is not None and (run.get("error") or {}).get("message"):
        return RunFailure(_short_error(run["error"]["message"]))
    # No step failed and the run reports no error of its own: it was marked failed from outside
    # because its worker died (the code server's or a monitor's report, whatever its wording).
    worker_died = step is None and run is not None
    if error_logs:
        return RunFailure(_short_error(error_logs[-1]), crashed=worker_died)
    return RunFailure(message=None, crashed=worker_died)
