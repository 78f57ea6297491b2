"""Property sync over REST (property-sync-api.md): launches `property_sync_job` for the tenant's
organization partition through Dagster GraphQL, as scans are launched, waits for it (bounded),
and answers the document's shapes from the run's materialization metadata.

- The definitions are validated here first: invalid ones are a 400 "Property validation failed"
  before anything is launched (the run would refuse them too).
- Credentials, as run config and only as ciphertext or the name of an environment variable: the
  tenant's OAuth grant, else the organizations file's `token_env` for the organization.
- A run still going after `property_sync_wait_seconds` is answered 202 with its run id; the
  status route reports it as it goes on.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api_shim.dagster import DagsterClient
from api_shim.oauth_grants import OAuthGrantStore
from api_shim.services.scans import ScanService
from api_shim.settings import ApiSettings
from hubspot_deals.organizations import load_organizations
from hubspot_deals.property_sync import DefinitionsError, load_definitions
from hubspot_deals.property_sync.contract import (
    SCHEDULE_NAME,
    SYNC_JOB_NAME,
    SYNC_TYPE_TAG,
    asset_op_name,
    asset_path,
    check_op_name,
)
from hubspot_deals.scan import ORGANIZATIONS_PARTITIONS_NAME, Tag
from hubspot_deals.settings import Settings

SYNC_TYPES: dict[str, tuple[str, ...]] = {
    "all": ("contacts", "leads"),
    "contacts": ("contacts",),
    "leads": ("leads",),
}
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
SUCCEEDED = ("created", "updated", "skipped")


class PropertySyncError(Exception):
    """An answer other than a sync's result, in the document's error shape."""

    def __init__(self, status: int, error: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body = {
            "success": False,
            "error": error,
            "details": details or {},
            "status_code": status,
        }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(run: dict[str, Any]) -> str | None:
    if run.get("start_time") is None or run.get("end_time") is None:
        return None
    return f"{run['end_time'] - run['start_time']:.1f}s"


def _failed(report: dict[str, Any]) -> int:
    return int(report.get("conflict", 0)) + int(report.get("failed", 0))


def _synced(report: dict[str, Any]) -> int:
    return sum(int(report.get(k, 0)) for k in SUCCEEDED)


class PropertySyncService:
    def __init__(
        self,
        settings: ApiSettings,
        destination: Settings,
        dagster: DagsterClient,
        scans: ScanService,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.destination = destination
        self.dagster = dagster
        self.scans = scans
        self.sleep = sleep

    # -- before launching ---------------------------------------------------------------------

    def validate(self, object_types: tuple[str, ...]) -> None:
        """Every definitions file the sync reads, checked before anything is launched: the
        first property with problems is named with all of its problems (the document's shape);
        `problems` lists every problem of every file (`file: property: problem`)."""
        found: list[tuple[str, str, str]] = []  # (file, property, problem)
        for object_type in object_types:
            try:
                load_definitions(self.destination.property_definitions_dir, object_type)
            except DefinitionsError as exc:
                found += [(exc.path.name, where, what) for where, what in exc.located]
        if not found:
            return
        first_file, first, _ = found[0]
        raise PropertySyncError(
            400,
            "Property validation failed",
            {
                "property_name": first,
                "validation_errors": [w for f, n, w in found if (f, n) == (first_file, first)],
                "problems": [": ".join(x for x in item if x) for item in found],
            },
        )

    def credentials(self, tenant: str) -> dict[str, str]:
        """How the run authenticates to the tenant's HubSpot: its OAuth grant (ciphertext),
        else the organizations file's token variable for it."""
        grant = OAuthGrantStore(self.destination.home, self.scans.cipher()).get(tenant)
        if grant is not None:
            return {
                "access_token_ciphertext": grant.access_token_ciphertext,
                "oauth_refresh_token_ciphertext": grant.refresh_token_ciphertext,
            }
        for org in load_organizations(self.destination.organizations_file):
            if org.id == tenant:
                return {"access_token_env": org.token_env}
        raise PropertySyncError(
            400,
            "No HubSpot credentials for this organization",
            {
                "organization_id": tenant,
                "hint": "authorize HubSpot OAuth (GET /api/hs/auth/login) or add the "
                "organization with its token_env to the organizations file",
            },
        )

    # -- sync --------------------------------------------------------------------------------

    def sync(self, tenant: str, sync_type: str) -> tuple[int, dict[str, Any]]:
        """Launches the sync of `sync_type` for `tenant`, waits for it (bounded) and answers
        (HTTP status, body)."""
        object_types = SYNC_TYPES[sync_type]
        self.validate(object_types)
        config = {"config": self.credentials(tenant)}
        ops = {asset_op_name(t): config for t in object_types}
        ops.update({check_op_name(t): config for t in object_types})
        self.dagster.add_partition(tenant, ORGANIZATIONS_PARTITIONS_NAME)
        run_id = self.dagster.launch_run(
            {"ops": ops},
            {Tag.ORGANIZATION: tenant, SYNC_TYPE_TAG: sync_type, "dagster/partition": tenant},
            job_name=SYNC_JOB_NAME,
            asset_paths=[asset_path(t) for t in object_types],
        )
        deadline = time.monotonic() + self.settings.property_sync_wait_seconds
        while True:
            run = self.dagster.property_sync_run(run_id)
            if run is not None and run["status"] in FINISHED:
                break
            if time.monotonic() >= deadline:
                return 202, {
                    "success": True,
                    "data": {
                        "sync_type": sync_type,
                        "sync_status": "in_progress",
                        "run_id": run_id,
                    },
                }
            self.sleep(0.25)
        return self._answer(run_id, sync_type, run)

    def _answer(
        self, run_id: str, sync_type: str, run: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        object_types = SYNC_TYPES[sync_type]
        reports = run["reports"]
        if run["status"] != "SUCCESS" or any(t not in reports for t in object_types):
            message = self.dagster.run_failure(run_id).message or f"run {run['status'].lower()}"
            details = {
                t: self._object_status(reports[t])
                if t in reports
                else {"status": "failed", "error": message}
                for t in object_types
            }
            raise PropertySyncError(500, "Property sync failed", {**details, "run_id": run_id})
        failures = [
            {"property": p["name"], "error": p.get("detail", p["outcome"])}
            for t in object_types
            for p in reports[t].get("properties", [])
            if p["outcome"] in ("conflict", "failed")
        ]
        if failures:
            total = sum(len(reports[t].get("properties", [])) for t in object_types)
            raise PropertySyncError(
                207,
                "Partial sync failure",
                {
                    "successful_properties": total - len(failures),
                    "failed_properties": len(failures),
                    "failures": failures,
                    "run_id": run_id,
                },
            )
        if sync_type == "all":
            data: dict[str, Any] = {"sync_status": "completed"}
            for t in object_types:
                data[t] = {
                    **self._object_status(reports[t]),
                    "properties": [p["name"] for p in reports[t].get("properties", [])],
                }
            data["summary"] = {
                "total_synced": sum(_synced(reports[t]) for t in object_types),
                "total_failed": sum(_failed(reports[t]) for t in object_types),
                "sync_duration": _duration(run),
            }
            return 200, {"success": True, "data": data}
        report = reports[sync_type]
        return 200, {
            "success": True,
            "data": {
                "object_type": sync_type,
                "sync_status": "completed",
                "synced_properties": _synced(report),
                "failed_properties": _failed(report),
                "properties": [
                    {
                        "name": p["name"],
                        "label": p["label"],
                        "sync_status": p["outcome"],
                        # HubSpot names a property by its internal name: that is its id.
                        "hubspot_property_id": p["name"],
                    }
                    for p in report.get("properties", [])
                ],
                "sync_details": {
                    "created": int(report.get("created", 0)),
                    "updated": int(report.get("updated", 0)),
                    "skipped": int(report.get("skipped", 0)),
                    "errors": _failed(report),
                },
            },
        }

    @staticmethod
    def _object_status(report: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": "partial_failure" if _failed(report) else "success",
            "synced_properties": _synced(report),
            "failed_properties": _failed(report),
        }

    # -- status ------------------------------------------------------------------------------

    def status(self, tenant: str, sync_type: str) -> dict[str, Any]:
        runs = [
            r
            for r in self.dagster.runs({Tag.ORGANIZATION: tenant}, limit=100, fresh=True)
            if r.job_name == SYNC_JOB_NAME and SYNC_TYPE_TAG in r.tags
        ]
        data: dict[str, Any] = {"sync_type": sync_type, "last_sync": None}
        last = next((r for r in runs if r.tags[SYNC_TYPE_TAG] == sync_type), None)
        if last is not None:
            run = self.dagster.property_sync_run(last.run_id) or {
                "reports": {},
                "status": last.status,
            }
            reports = [run["reports"][t] for t in SYNC_TYPES[sync_type] if t in run["reports"]]
            data["last_sync"] = {
                "timestamp": _iso(last.start_time or last.creation_time),
                "status": self._run_status(run["status"], reports),
                "duration": _duration(run),
                "total_properties": sum(len(r.get("properties", [])) for r in reports),
                "successful": sum(_synced(r) for r in reports),
                "failed": sum(_failed(r) for r in reports),
                "run_id": last.run_id,
            }
        for object_type in SYNC_TYPES[sync_type]:
            data[object_type] = None
            for candidate in runs:
                if object_type not in SYNC_TYPES[candidate.tags[SYNC_TYPE_TAG]]:
                    continue
                run = self.dagster.property_sync_run(candidate.run_id)
                if run is None:
                    continue
                report = run["reports"].get(object_type)
                data[object_type] = {
                    "status": self._run_status(run["status"], [report] if report else []),
                    "properties_synced": _synced(report) if report else 0,
                    "last_update": _iso(run.get("end_time")),
                }
                break
        data["next_scheduled_sync"] = _iso(self.dagster.next_tick(SCHEDULE_NAME))
        return {"success": True, "data": data}

    @staticmethod
    def _run_status(status: str, reports: list[dict[str, Any]]) -> str:
        """The document's status values from the Dagster run's status and its reports."""
        if status in ("QUEUED", "NOT_STARTED", "STARTING", "MANAGED"):
            return "pending"
        if status in ("STARTED", "CANCELING"):
            return "in_progress"
        if status != "SUCCESS":
            return "failed"
        return "partial" if any(_failed(r) for r in reports) else "completed"
