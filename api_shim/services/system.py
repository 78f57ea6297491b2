"""Health of everything a scan needs, and the pipeline's description."""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from api_shim.dagster import DagsterClient, DagsterHealth
from api_shim.destination import ResultsStore
from api_shim.errors import ApiError
from api_shim.settings import ApiSettings
from hubspot_deals.settings import DATASET_NAME, Settings

RUN_QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"


@dataclass
class Check:
    healthy: bool
    detail: str
    latency_ms: float | None = None


@dataclass
class Health:
    checks: dict[str, Check] = field(default_factory=dict)
    dagster_version: str | None = None

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.checks.values())

    @property
    def error(self) -> str | None:
        return next((c.detail for c in self.checks.values() if not c.healthy), None)

    @property
    def database_health(self) -> bool:
        check = self.checks.get("destination")
        return bool(check and check.healthy)

    @property
    def dagster_active(self) -> bool:
        return all(
            self.checks[k].healthy
            for k in ("dagster_webserver", "code_location")
            if k in self.checks
        )


@dataclass
class ProcessFigures:
    """This API process: how long it has run, its memory and its CPU share since it started."""

    uptime_seconds: float
    rss_bytes: int | None
    cpu_percent: float


class SystemService:
    def __init__(
        self,
        settings: ApiSettings,
        destination: Settings,
        dagster: DagsterClient,
        store: ResultsStore,
    ) -> None:
        self.settings = settings
        self.destination = destination
        self.dagster = dagster
        self.store = store
        self.started = time.monotonic()
        self._cpu_at_start = time.process_time()

    def process_figures(self) -> ProcessFigures:
        uptime = max(time.monotonic() - self.started, 1e-6)
        cpu = 100.0 * (time.process_time() - self._cpu_at_start) / uptime
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            rss: int | None = pages * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            rss = None
        return ProcessFigures(uptime, rss, round(cpu, 1))

    def health(self) -> Health:
        health = Health()
        try:
            dagster = self.dagster.health()
        except ApiError as exc:
            health.checks["dagster_webserver"] = Check(False, exc.message)
            health.checks["code_location"] = Check(False, "not checked: Dagster unreachable")
            health.checks["dagster_daemon"] = Check(False, "not checked: Dagster unreachable")
        else:
            health.dagster_version = dagster.version
            health.checks["dagster_webserver"] = Check(True, f"Dagster {dagster.version}")
            health.checks["code_location"] = Check(dagster.location_loaded, dagster.location_detail)
            health.checks["dagster_daemon"] = self._daemon(dagster)
        started = time.perf_counter()
        healthy, detail = self.store.check()
        latency = round((time.perf_counter() - started) * 1000, 1)
        health.checks["destination"] = Check(healthy, detail, latency)
        return health

    def _daemon(self, dagster: DagsterHealth) -> Check:
        """The run queue's daemon must have sent a heartbeat recently (Dagster's own `healthy`
        flag lags by 30 minutes)."""
        daemons = [d for d in dagster.daemons if d.get("required")]
        queue = [d for d in daemons if d.get("daemonType") == RUN_QUEUE_DAEMON]
        watched = queue or daemons
        if not watched:
            return Check(True, "no Dagster daemon is required by this instance")
        beats = [d.get("lastHeartbeatTime") for d in watched if d.get("lastHeartbeatTime")]
        name = RUN_QUEUE_DAEMON if queue else "dagster-daemon"
        if not beats:
            return Check(
                False, f"Dagster daemon ({name}) has never sent a heartbeat: is it running?"
            )
        age = time.time() - max(beats)
        limit = self.settings.daemon_heartbeat_max_age_seconds
        if age > limit:
            return Check(
                False, f"Dagster daemon ({name}) last heartbeat {age:.0f}s ago (limit {limit:g}s)"
            )
        return Check(True, f"{name} heartbeat {age:.0f}s ago")

    def pipeline_info(self) -> tuple[dict[str, object], Health]:
        health = self.health()
        info: dict[str, object] = {
            "pipeline_name": DATASET_NAME,
            "destination_type": self.destination.destination,
            "working_dir": str(self.destination.pipelines_dir),
            "dataset_name": DATASET_NAME,
            "is_active": health.dagster_active,
            "database_health": health.database_health,
            "error": health.error,
            "dagster_version": health.dagster_version,
            "code_location": self.settings.location_name,
            "job_name": self.settings.job_name,
        }
        return info, health
