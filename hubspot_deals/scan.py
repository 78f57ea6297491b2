"""The scan contract: what the code location and the REST shim agree a scan is.

A scan is a dynamic partition of the scan job plus the runs tagged with it (docs/architecture.md).
Both sides read and write the same things: the scan id, the run tags, the job/op/partitions
names, the run config, the groups of statuses and the liveness rule. Each is defined here once,
in plain Python, so that the shim (which must not import Dagster's code location or dlt) and the
Dagster definitions (sensors, schedules, assets) cannot drift apart.

This module imports neither Dagster, dlt nor FastAPI (`hubspot_deals_tests/test_scan_contract.py`
checks it).
"""

import contextlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from hubspot_deals.crypto import TokenCipher

# -- names the shim addresses in Dagster -----------------------------------------------------------

SCAN_JOB_NAME = "scan_job"
SCAN_OP_NAME = "hubspot_scan"  # the op of the scan asset; its config is the scan's run config
SCANS_PARTITIONS_NAME = "scans"  # one dynamic partition per scan id
ORGANIZATIONS_PARTITIONS_NAME = "organizations"
DEALS_ASSET_PATH = ("hubspot", "deals")  # the asset whose scan partitions carry the marks

# -- columns every row of a scan carries -----------------------------------------------------------

SCAN_ID_COLUMN = "_scan_id"
ORGANIZATION_ID_COLUMN = "_organization_id"


# -- run tags --------------------------------------------------------------------------------------


class Tag:
    """Run tags the code location writes and the REST shim reads (a scan's state lives in
    Dagster, not in a store of the shim's)."""

    PARTITION = "dagster/partition"
    ORGANIZATION = "hubspot_deals/organization_id"
    SCAN_TYPE = "hubspot_deals/scan_type"
    RECORDS_EXTRACTED = "hubspot_deals/records_extracted"
    EXPECTED_RECORDS = "hubspot_deals/expected_records"
    HEARTBEAT = "hubspot_deals/heartbeat"
    CHECKPOINT = "hubspot_deals/checkpoint"
    CHECKPOINT_AT = "hubspot_deals/checkpoint_at"
    RESUMING = "hubspot_deals/resuming"
    # schedule, change_sensor, auto_resume, api_resume (absent: a start by the API or the UI)
    TRIGGER = "hubspot_deals/trigger"
    RESUME_ATTEMPT = "hubspot_deals/resume_attempt"
    RESUMED_FROM = "hubspot_deals/resumed_from"  # the run a resume run continues
    TENANT_URL = "hubspot_deals/tenant_url"  # the scan API's tennantUrl, echoed in its config
    BATCH_SIZE = "hubspot_deals/batch_size"  # the ETL API's batch_size, echoed in its config
    # Dagster's own tags the contract reads.
    CODE_LOCATION = "dagster/code_location"
    FAILURE_REASON = "dagster/failure_reason"
    IS_RESUME_RETRY = "dagster/is_resume_retry"
    WILL_RETRY = "dagster/will_retry"


# Tags a resume run carries over from the run it continues.
_RESUME_KEEPS = (Tag.ORGANIZATION, Tag.SCAN_TYPE, Tag.TENANT_URL, Tag.BATCH_SIZE)


def resume_tags(
    previous: Mapping[str, str], previous_run_id: str, trigger: str, attempt: int | None = None
) -> dict[str, str]:
    """The tags of a run that resumes `previous_run_id` from its checkpoint: the resume sensor's
    (with its attempt count) and the REST API's are the same. The partition tag is the caller's:
    a sensor's run request carries the partition key instead."""
    kept = {key: previous[key] for key in _RESUME_KEEPS if previous.get(key)}
    kept.update({Tag.TRIGGER: trigger, Tag.RESUMED_FROM: previous_run_id})
    if attempt is not None:
        kept[Tag.RESUME_ATTEMPT] = str(attempt)
    return kept


# -- scan ids --------------------------------------------------------------------------------------

# The scan API's rule for a client's id (deals-extraction-api.md: alphanumeric, hyphens,
# underscores, 1-255 characters); every id minted below satisfies it too, so that any scan can be
# read through that API.
SCAN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,255}$"
# The ETL API mints ids as its document shows them: scan_<UTC date>_<UTC time>_<12 hex digits>.
ETL_SCAN_ID_PATTERN = r"^scan_[0-9]{8}_[0-9]{6}_[0-9a-f]{12}$"
# Schedules and the change sensor: <organization id>-<UTC date>[-<UTC time>][-<n>].
AUTOMATIC_SCAN_ID_PATTERN = (
    r"^(?P<organization>[A-Za-z0-9_-]+)-(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:-(?P<time>[0-9]{6}))?(?:-(?P<n>[0-9]+))?$"
)
# The CLI's demo scan: demo-<UTC date>-<UTC time>.
DEMO_SCAN_ID_PATTERN = r"^demo-[0-9]{8}-[0-9]{6}$"
_SCAN_ID = re.compile(SCAN_ID_PATTERN)


def valid_scan_id(scan_id: str) -> bool:
    return _SCAN_ID.fullmatch(scan_id) is not None


def etl_scan_id(now: datetime) -> str:
    """A new ETL API scan id; `now` in UTC. The random part keeps two starts in one second apart."""
    return f"scan_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(6)}"


def demo_scan_id(now: datetime) -> str:
    return f"demo-{now:%Y%m%d-%H%M%S}"


def scheduled_scan_id(organization_id: str, when: datetime, taken: Callable[[str], bool]) -> str:
    """A schedule tick's scan: `<organization>-<day>`, or with the tick's time when that day
    already has one (more than one tick a day)."""
    scan_id = f"{organization_id}-{when:%Y-%m-%d}"
    if taken(scan_id):
        return changed_scan_id(organization_id, when, taken)
    return scan_id


def changed_scan_id(organization_id: str, now: datetime, taken: Callable[[str], bool]) -> str:
    """The change sensor's scan: `<organization>-<day>-<time>`, `-<n>` for a retry within the
    same second."""
    scan_id = base = f"{organization_id}-{now:%Y-%m-%d-%H%M%S}"
    n = 1
    while taken(scan_id):
        n += 1
        scan_id = f"{base}-{n}"
    return scan_id


# -- run config ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanRunConfig:
    """The scan op's config as the code location reads it
    (`hubspot_deals.defs.assets.scan.ScanConfig` declares the same fields for Dagster): built by
    the REST API, schedules, sensors and the CLI, read back by the REST API's status answers. A
    token travels only as ciphertext or as the name of an environment variable of the code
    location."""

    organization_id: str | None = None
    scan_type: str = "full"  # full or incremental
    include_archived: bool = False
    properties: tuple[str, ...] | None = None
    start_date: str | None = None
    end_date: str | None = None
    pipeline: str | None = None
    access_token_env: str | None = None
    access_token_ciphertext: str | None = None
    oauth_refresh_token_ciphertext: str | None = None

    def __post_init__(self) -> None:
        # No properties and an empty list both mean every property: one spelling of it.
        properties = tuple(self.properties) if self.properties else None
        object.__setattr__(self, "properties", properties)

    def run_config(self) -> dict[str, Any]:
        """Dagster run config: unset fields are left out, so the op's defaults apply."""
        config: dict[str, Any] = {}
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if value is not None:
                config[name] = list(value) if name == "properties" else value
        return {"ops": {SCAN_OP_NAME: {"config": config}}}

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any] | None) -> "ScanRunConfig":
        """The scan's config from a run's run config (a run without one: the defaults)."""
        ops = (run_config or {}).get("ops")
        op = ops.get(SCAN_OP_NAME) if isinstance(ops, Mapping) else None
        config = op.get("config") if isinstance(op, Mapping) else None
        if not isinstance(config, Mapping):
            return cls()
        properties = config.get("properties")
        return cls(
            organization_id=config.get("organization_id"),
            scan_type=config.get("scan_type") or "full",
            include_archived=bool(config.get("include_archived", False)),
            properties=tuple(properties) if isinstance(properties, list | tuple) else None,
            start_date=config.get("start_date"),
            end_date=config.get("end_date"),
            pipeline=config.get("pipeline"),
            access_token_env=config.get("access_token_env"),
            access_token_ciphertext=config.get("access_token_ciphertext"),
            oauth_refresh_token_ciphertext=config.get("oauth_refresh_token_ciphertext"),
        )


def scan_run_config(
    organization_id: str,
    access_token: str | None = None,
    properties: list[str] | None = None,
    include_archived: bool = False,
    start_date: str | None = None,
    end_date: str | None = None,
    scan_type: str = "full",
    pipeline: str | None = None,
) -> dict[str, Any]:
    """Run config of a scan started from Python (CLI, tests, benchmarks): the token is encrypted
    with the deployment key, never placed in clear text."""
    ciphertext = TokenCipher.from_settings().encrypt(access_token) if access_token else None
    return ScanRunConfig(
        organization_id=organization_id,
        scan_type=scan_type,
        include_archived=include_archived,
        properties=tuple(properties) if properties else None,
        start_date=start_date,
        end_date=end_date,
        pipeline=pipeline,
        access_token_ciphertext=ciphertext,
    ).run_config()


# -- statuses --------------------------------------------------------------------------------------

# Dagster run statuses, by what they mean for a scan.
ACTIVE_RUN_STATUSES = frozenset(
    {"QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "CANCELING"}
)  # the run may still write: one scan of an organization at a time
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
LIVE_RUN_STATUSES = frozenset({"STARTING", "STARTED"})  # a worker is (or should be) running
# Live runs Dagster's terminateRun refuses (it stops only QUEUED and STARTED runs).
UNTERMINABLE_RUN_STATUSES = frozenset({"NOT_STARTED", "MANAGED", "STARTING"})
STOPPED_RUN_STATUSES = frozenset({"CANCELING", "CANCELED"})
CANCELLABLE_RUN_STATUSES = frozenset({"QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED"})
# Dagster's RunFailureReason values that mean the run worker died rather than the scan failing.
CRASH_REASONS = frozenset({"UNEXPECTED_TERMINATION", "START_TIMEOUT", "RUN_WORKER_RESTART"})

# Scan statuses (the scan API's; the ETL API maps them onto its five), by group.
PENDING_STATUSES = ("pending",)
RUNNING_STATUSES = ("running", "resuming")
ACTIVE_STATUSES = PENDING_STATUSES + RUNNING_STATUSES  # pausable; blocks a tenant's ETL start
FINISHED_STATUSES = ("completed", "failed", "cancelled", "crashed")
RESUMABLE_STATUSES = ("paused", "failed", "crashed")
STOPPING_STATUSES = ("cancelled", "paused")  # removable once their runs have ended


# -- liveness --------------------------------------------------------------------------------------


def parse_timestamp(text: str | None) -> float | None:
    """An ISO 8601 time (a `Z` or an offset; UTC when it has neither) as epoch seconds."""
    if not text:
        return None
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None


def last_sign_of_life(run_tags: Mapping[str, str], started: float | None) -> float | None:
    """When the run last showed it was alive: its heartbeat tag, else its start."""
    signs = [s for s in (parse_timestamp(run_tags.get(Tag.HEARTBEAT)), started) if s]
    return max(signs) if signs else None


def heartbeat_age(run_tags: Mapping[str, str], started: float | None, now: float) -> float | None:
    """Seconds since the run's last sign of life; None when it has shown none."""
    last = last_sign_of_life(run_tags, started)
    return None if last is None else now - last


def has_crashed(
    run_tags: Mapping[str, str], started: float | None, now: float, timeout: float
) -> bool:
    """The one crash rule, read by the `detect_crashed_scans` sensor and the REST API: a started
    run silent for longer than the timeout (`HUBSPOT_DEALS_CRASH_TIMEOUT_SECONDS`, or the
    `timeoutMinutes` of `/maintenance/detect-crashed`) has lost its worker."""
    age = heartbeat_age(run_tags, started, now)
    return age is not None and age > timeout
