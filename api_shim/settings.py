"""The REST shim's settings, read once from the environment (prefix `HUBSPOT_DEALS_API_`).

Where scans load (DuckDB file or PostgreSQL DSN), the encryption key and the local state folder
are the code location's settings (`hubspot_deals.settings.Settings`, prefix `HUBSPOT_DEALS_`):
the shim reads those too, so that both sides always agree.
"""

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hubspot_deals.scan import SCAN_JOB_NAME

_WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(?:(\d+)\s*s|(second|minute|hour|day))\s*$")


class RateLimit:
    """`N/window`: at most N requests per client in a fixed window (`100/hour`, `5/30s`)."""

    def __init__(self, text: str) -> None:
        match = _RATE.match(text)
        if not match:
            raise ValueError(
                f"rate limit {text!r}: expected N/second, N/minute, N/hour, N/day or N/<seconds>s"
            )
        self.limit = int(match[1])
        self.window_seconds = int(match[2]) if match[2] else _WINDOWS[match[3]]
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError(f"rate limit {text!r}: both numbers must be at least 1")
        self.text = text.strip()

    def __repr__(self) -> str:
        return f"RateLimit({self.text!r})"


class ApiSettings(BaseSettings):
    """Configuration of the REST shim. Every setting has a safe default for local use."""

    model_config = SettingsConfigDict(env_prefix="HUBSPOT_DEALS_API_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Interface uvicorn listens on.")
    port: int = Field(default=5000, ge=1, le=65535, description="Port of the REST API.")
    dagster_graphql_url: str = Field(
        default="http://127.0.0.1:3000/graphql",
        description="Dagster webserver GraphQL endpoint (with its --path-prefix, if any).",
    )
    dagster_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Longest wait for one GraphQL answer."
    )
    dagster_connect_timeout_seconds: float = Field(
        default=3.0, gt=0, description="Longest wait to connect to the Dagster webserver."
    )
    dagster_runs_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Oldest answer about a scan's runs a status, page or list may be served "
        "(refreshed in the background from a quarter of it on; the shim's own starts, cancels "
        "and removals show at once). 0: ask Dagster on every request.",
    )
    property_sync_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Longest a property sync request waits for its Dagster run; past it the "
        "answer is 202 with the run id, and GET /status/{sync_type} reports the run.",
    )
    location_name: str = Field(default="hubspot_deals", description="Dagster code location.")
    repository_name: str = "__repository__"
    job_name: str = Field(
        default=SCAN_JOB_NAME,
        description="The job the shim launches for a scan: the scan contract's "
        "(`hubspot_deals.scan.SCAN_JOB_NAME`) unless the code location names it otherwise.",
    )
    daemon_heartbeat_max_age_seconds: float = Field(
        default=90.0,
        gt=0,
        description="Health: the Dagster daemon is down when its last heartbeat is older.",
    )
    rate_limit_enabled: bool = True
    rate_limit_scan: str = Field(default="100/hour", description="`/scan/*` per client.")
    rate_limit_results: str = Field(default="1000/hour", description="`/results/*` per client.")
    rate_limit_maintenance: str = Field(
        default="10/hour", description="`/maintenance/*` per client."
    )
    rate_limit_health: str = Field(
        default="60/minute", description="`/health`, `/stats`, `/pipeline/info` per client."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    results_cache_dir: Path | None = Field(
        default=None,
        description="DuckDB only: folder of the per-scan read copies; default "
        "<HUBSPOT_DEALS_HOME>/api_results.",
    )
    results_cache_max_scans: int = Field(
        default=32, ge=1, description="DuckDB only: read copies kept (least recently used go)."
    )
    duckdb_lock_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="DuckDB only: how long to retry while a loading scan holds the file's lock.",
    )
    duckdb_read_memory_limit: str = Field(
        default="64MB",
        description="DuckDB only: memory the read copies' blocks may take (older ones are "
        "dropped), so that reading a large table does not grow the API's memory.",
    )
    duckdb_copy_memory_limit: str = Field(
        default="192MB",
        description="DuckDB only: memory the first read of a completed scan may take to build "
        "its read copy (numbering and sorting the scan's rows spills to disk beyond it).",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="API keys (hashed), scopes and tenants; default <HUBSPOT_DEALS_HOME>/"
        "api_keys.json. Without a key (the file missing, emptied or unreadable) every request "
        "is refused, unless open_access is set.",
    )
    open_access: bool = Field(
        default=False,
        description="Serve clients on this machine without API keys while the key file holds "
        "none (the demo sets it). Loopback addresses only; once a key exists, keys are "
        "required.",
    )
    postgres_pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections.")
    postgres_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    postgres_connect_timeout_seconds: int = Field(default=5, ge=1)

    @field_validator(
        "rate_limit_scan", "rate_limit_results", "rate_limit_maintenance", "rate_limit_health"
    )
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        RateLimit(value)
        return value

    def rate_limits(self) -> dict[str, RateLimit]:
        """Limits by endpoint group."""
        return {
            "scan": RateLimit(self.rate_limit_scan),
            "results": RateLimit(self.rate_limit_results),
            "maintenance": RateLimit(self.rate_limit_maintenance),
            "health": RateLimit(self.rate_limit_health),
        }

    @property
    def repository_selector(self) -> dict[str, str]:
        return {
            "repositoryLocationName": self.location_name,
            "repositoryName": self.repository_name,
        }


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
