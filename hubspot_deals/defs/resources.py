"""Dagster resources: the HubSpot API (real, or the sandbox behind the same URL scheme) and the
destination the scans load into.

Every field defaults to the environment (`hubspot_deals.settings`), so the project's own code
location configures them there; an instance made by the asset factory or the Component (one
HubSpot portal of a host project) sets them on its own resources instead.
"""

import os
from pathlib import Path

import dlt
from dagster import ConfigurableResource, Failure
from pydantic import Field, SecretStr

from hubspot_deals.crypto import TokenCipher, TokenDecryptionError
from hubspot_deals.load.destination import make_pipeline
from hubspot_deals.load.failures import CONFIGURATION_ERROR
from hubspot_deals.load.names import pipeline_name_for
from hubspot_deals.settings import Settings, get_settings
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.oauth import HubSpotOAuthApp, RefreshingAccessToken


class HubSpotResource(ConfigurableResource):
    """HubSpot CRM v3 API. Point `api_base_url` at the sandbox to run without HubSpot."""

    api_base_url: str | None = Field(
        default=None, description="Defaults to HUBSPOT_API_BASE_URL (https://api.hubapi.com)."
    )
    max_url_length: int | None = Field(
        default=None, description="Defaults to HUBSPOT_DEALS_MAX_URL_LENGTH (15000)."
    )
    max_attempts: int | None = Field(
        default=None, description="Defaults to HUBSPOT_DEALS_MAX_ATTEMPTS (8)."
    )
    timeout_seconds: float | None = Field(
        default=None, description="Defaults to HUBSPOT_DEALS_HTTP_TIMEOUT_SECONDS (60)."
    )
    access_token_env: str | None = Field(
        default=None,
        description="Environment variable holding the portal's token, for runs whose config "
        "names none; defaults to HUBSPOT_ACCESS_TOKEN.",
    )
    organization_id: str | None = Field(
        default=None,
        description="Organization of the portal's scans when neither run config nor run tags "
        "name one; defaults to HUBSPOT_DEALS_DEFAULT_ORGANIZATION.",
    )

    @property
    def url_length_budget(self) -> int:
        return self.max_url_length or get_settings().max_url_length

    def resolve_access_token(self, ciphertext: str | None, env_name: str | None = None) -> str:
        """The scan's token: decrypted from its run config, else from the environment variable
        the run config names, else from the resource's `access_token_env`, else
        HUBSPOT_ACCESS_TOKEN."""
        env_name = env_name or self.access_token_env
        if ciphertext:
            try:
                return TokenCipher.from_settings().decrypt(ciphertext)
            except TokenDecryptionError as exc:
                raise Failure(description=str(exc), metadata=CONFIGURATION_ERROR) from None
        if env_name:
            value = os.environ.get(env_name, "")
            if not value:
                raise Failure(
                    description=f"no HubSpot access token: environment variable {env_name} "
                    "is not set in the code location",
                    metadata=CONFIGURATION_ERROR,
                )
            return value
        token = get_settings().access_token
        if token is None or not token.get_secret_value():
            raise Failure(
                description="no HubSpot access token: the run config has no "
                "access_token_ciphertext and HUBSPOT_ACCESS_TOKEN is not set",
                metadata=CONFIGURATION_ERROR,
            )
        return token.get_secret_value()

    def client(
        self, access_token: str, oauth_refresh_token_ciphertext: str | None = None
    ) -> HubSpotClient:
        """The scan's client; with a refresh token (a scan authorized by OAuth), one that
        refreshes its access token when HubSpot answers that it expired."""
        settings = get_settings()
        base_url = self.api_base_url or settings.api_base_url
        credential: str | RefreshingAccessToken = access_token
        if oauth_refresh_token_ciphertext:
            if not settings.oauth_configured:
                raise Failure(
                    description="the scan was authorized by HubSpot OAuth, but "
                    "HUBSPOT_DEALS_OAUTH_CLIENT_ID and HUBSPOT_DEALS_OAUTH_CLIENT_SECRET are not "
                    "set in the code location",
                    metadata=CONFIGURATION_ERROR,
                )
            try:
                refresh_token = TokenCipher.from_settings().decrypt(oauth_refresh_token_ciphertext)
            except TokenDecryptionError as exc:
                raise Failure(description=str(exc), metadata=CONFIGURATION_ERROR) from None
            app = HubSpotOAuthApp(
                settings.oauth_client_id or "",
                settings.oauth_client_secret.get_secret_value(),  # type: ignore[union-attr]
                base_url,
                settings.http_timeout_seconds,
            )
            credential = RefreshingAccessToken(app, refresh_token, access_token)
        return HubSpotClient(
            credential,
            base_url,
            max_attempts=self.max_attempts or settings.max_attempts,
            timeout=self.timeout_seconds or settings.http_timeout_seconds,
        )


DESTINATION_KINDS = ("duckdb", "postgres")


class ScanDestination(ConfigurableResource):
    """Where scans load: DuckDB or PostgreSQL, each setting from the environment unless set here.

    Two instances (two HubSpot portals) need two destinations: both load the same tables of the
    dataset `hubspot_deals_extraction`, and a scan's dlt state is named after its scan id.
    """

    kind: str | None = Field(
        default=None,
        description="`duckdb` or `postgres`; defaults to HUBSPOT_DEALS_DESTINATION (duckdb).",
    )
    duckdb_path: str | None = Field(
        default=None,
        description="DuckDB file; defaults to HUBSPOT_DEALS_DUCKDB_PATH "
        "(<HUBSPOT_DEALS_HOME>/hubspot_deals.duckdb).",
    )
    postgres_dsn: str | None = Field(
        default=None, description="PostgreSQL DSN; defaults to HUBSPOT_DEALS_POSTGRES_DSN."
    )
    pipelines_dir: str | None = Field(
        default=None,
        description="dlt's working folders of the scans; defaults to "
        "<HUBSPOT_DEALS_HOME>/dlt_pipelines.",
    )

    def settings(self) -> Settings:
        """The environment's settings with this destination's own laid over them."""
        update: dict[str, object] = {}
        if self.kind:
            if self.kind not in DESTINATION_KINDS:
                raise ValueError(f"destination kind {self.kind!r}: one of {DESTINATION_KINDS}")
            update["destination"] = self.kind
        if self.duckdb_path:
            update["duckdb_path"] = Path(self.duckdb_path)
        if self.postgres_dsn:
            update["postgres_dsn"] = SecretStr(self.postgres_dsn)
        settings = get_settings()
        return settings.model_copy(update=update) if update else settings

    def pipeline_for_scan(self, scan_id: str) -> dlt.Pipeline:
        return make_pipeline(
            pipeline_name_for(scan_id), self.settings(), pipelines_dir=self.pipelines_dir
        )
