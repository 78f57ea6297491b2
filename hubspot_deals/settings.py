"""Settings read once from the environment; every one has a safe default for local use."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DATASET_NAME = "hubspot_deals_extraction"


# DuckDB's `auto` memory limit: a base, and room for the blocks a load fills per column (a
# 256 KiB block per column and row group, and the parquet reader's). 80 columns need 64 MB. A
# 19,000-row chunk of 409 columns failed with DuckDB's "could not allocate block" at 120, 150
# and 187 MB and loaded at 200 MB: the limit leaves wide tables about a fifth above that edge.
DUCKDB_BASE_MB = 20
DUCKDB_MB_PER_COLUMN = 0.55
DUCKDB_AUTO_COLUMNS = 80  # the width assumed until a load knows its table's


def duckdb_auto_memory_mb(columns: int = DUCKDB_AUTO_COLUMNS) -> int:
    """DuckDB's `auto` memory limit, in MB, for loading a table of `columns` columns."""
    return DUCKDB_BASE_MB + round(DUCKDB_MB_PER_COLUMN * max(columns, DUCKDB_AUTO_COLUMNS))


class Settings(BaseSettings):
    """Configuration of the code location, the dlt destination and the HubSpot client."""

    model_config = SettingsConfigDict(env_prefix="HUBSPOT_DEALS_", extra="ignore")

    home: Path = Field(
        default=Path.home() / ".hubspot_deals",
        description="Folder for local state: the DuckDB file, dlt working dirs, the key file.",
    )
    api_base_url: str = Field(
        default="https://api.hubapi.com",
        validation_alias=AliasChoices("HUBSPOT_API_BASE_URL", "HUBSPOT_DEALS_API_BASE_URL"),
        description="HubSpot API base URL; the sandbox and the tests point it elsewhere.",
    )
    access_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_DEALS_ACCESS_TOKEN"),
        description="Token for runs whose config carries none (UI, schedules, sensors).",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key for scan tokens; without it a key file under `home` is used.",
    )
    destination: Literal["duckdb", "postgres"] = "duckdb"
    duckdb_path: Path | None = Field(
        default=None, description="DuckDB file; defaults to <home>/hubspot_deals.duckdb."
    )
    duckdb_memory_limit: str = Field(
        default="auto",
        description="DuckDB memory limit in the scan process (it spills beyond): `auto` sizes "
        "each load by the width of the table it writes (DuckDB needs blocks per column), or a "
        "DuckDB size.",
    )
    postgres_dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/postgres")
    default_organization_id: str = "default"
    max_url_length: int = Field(
        default=15_000,
        description="Longest list URL the client sends; past it, properties go in a body.",
    )
    checkpoint_deals: int = Field(
        default=20_000, description="A scan commits a checkpoint every this many deals..."
    )
    checkpoint_seconds: float = Field(default=30.0, description="...or this many seconds.")
    incremental_lookback_seconds: int = Field(
        default=600,
        description="Incremental scans re-read this much before the last scan's "
        "start, because HubSpot's search index shows writes late.",
    )
    destination_patience_seconds: float = Field(
        default=120.0,
        ge=0,
        description="How long a scan waits out an unavailable destination (PostgreSQL down, "
        "restarting or refusing connections; DuckDB locked by another process) before failing.",
    )
    postgres_create_indexes: bool = Field(
        default=True,
        description="PostgreSQL: a scan creates the (scan id, key) page index of each table it "
        "loads when missing, for the API's fast deep pages; false leaves them to the DBA.",
    )
    http_timeout_seconds: float = 60.0
    max_attempts: int = Field(default=8, description="Attempts per HubSpot request (429/5xx).")

    organizations_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSPOT_DEALS_ORGANIZATIONS_FILE"),
        description="YAML file of organizations scanned on schedules and sensors; defaults to "
        "<home>/organizations.yaml.",
    )
    property_definitions_dir: Path = Field(
        default=Path("properties"),
        validation_alias=AliasChoices("HUBSPOT_DEALS_PROPERTY_DEFINITIONS"),
        description="Folder of the property definitions files (contacts.json, leads.json, "
        "deals.json) that the property sync makes HubSpot match; relative to the working "
        "directory, like a dbt project's folders.",
    )
    resume_attempts: int = Field(
        default=3, description="Automatic resumes of a scan that failed for a transient cause."
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="A running scan beats at least this often."
    )
    change_sensor_seconds: int = Field(
        default=300,
        ge=10,  # Dagster's sensor daemon looks at its sensors every 5 s
        description="How often hubspot_changes_sensor asks HubSpot for each organization's "
        "changed deals (one search request per organization).",
    )
    crash_timeout_seconds: int = Field(
        default=600,
        ge=60,
        description="A running scan without a heartbeat for this long has crashed: the "
        "detect_crashed_scans sensor marks its run failed (and resume_failed_scans resumes it).",
    )

    oauth_client_id: str | None = Field(
        default=None,
        description="HubSpot OAuth app's client id: organizations can then authorize scans "
        "with OAuth instead of a private-app token.",
    )
    oauth_client_secret: SecretStr | None = Field(
        default=None,
        description="The OAuth app's client secret (the API exchanges codes with it, scans "
        "refresh access tokens with it); never logged, never in run config.",
    )
    oauth_redirect_uri: str = Field(
        default="http://127.0.0.1:5000/api/hs/auth/callback",
        description="The API's callback URL, as registered in the HubSpot app.",
    )
    oauth_authorize_url: str = Field(
        default="https://app.hubspot.com/oauth/authorize",
        description="Where users approve the app (the sandbox serves /oauth/authorize).",
    )
    oauth_scopes: str = Field(
        default="crm.objects.deals.read crm.objects.owners.read crm.schemas.deals.read oauth",
        description="Scopes the app asks for, space-separated.",
    )
    oauth_state_ttl_seconds: float = Field(
        default=600.0, gt=0, description="How long a login's `state` stays valid (single use)."
    )

    @property
    def oauth_configured(self) -> bool:
        return bool(self.oauth_client_id and self.oauth_client_secret)

    @property
    def organizations_file(self) -> Path:
        return self.organizations_path or (self.home / "organizations.yaml")

    @property
    def duckdb_file(self) -> Path:
        return self.duckdb_path or (self.home / "hubspot_deals.duckdb")

    @property
    def pipelines_dir(self) -> Path:
        return self.home / "dlt_pipelines"

    def duckdb_memory(self, columns: int = DUCKDB_AUTO_COLUMNS) -> str:
        """DuckDB's memory limit for loading a table of `columns` columns."""
        if self.duckdb_memory_limit != "auto":
            return self.duckdb_memory_limit
        return f"{duckdb_auto_memory_mb(columns)}MB"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
