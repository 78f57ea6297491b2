"""Dagster resources: the HubSpot API (real, or the sandbox behind the same URL scheme) and the
destination the scans load into."""

import os

import dlt
from dagster import ConfigurableResource, Failure
from pydantic import Field

from hubspot_deals.crypto import TokenCipher, TokenDecryptionError
from hubspot_deals.load.destination import make_pipeline
from hubspot_deals.load.failures import CONFIGURATION_ERROR
from hubspot_deals.load.names import pipeline_name_for
from hubspot_deals.settings import get_settings
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

    @property
    def url_length_budget(self) -> int:
        return self.max_url_length or get_settings().max_url_length

    def resolve_access_token(self, ciphertext: str | None, env_name: str | None = None) -> str:
        """The scan's token: decrypted from its run config, else from the environment variable
        the run config names, else HUBSPOT_ACCESS_TOKEN."""
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


class ScanDestination(ConfigurableResource):
    """Where scans load: the dlt destination from the environment (DuckDB or PostgreSQL)."""

    def pipeline_for_scan(self, scan_id: str) -> dlt.Pipeline:
        return make_pipeline(pipeline_name_for(scan_id))
