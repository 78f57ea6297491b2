"""HubSpot OAuth 2.0 for tenants (hubspot-integration-api.md, OAuth endpoints).

A tenant (an organization id) authorizes the HubSpot app once; its grant is stored encrypted
(`api_shim.oauth_grants`). A scan started with `auth.oauth: true` then carries only ciphertext
in its run config (`ScanService.hubspot_credentials`): the refresh token and the latest access
token. The scan's HubSpot client refreshes the access token itself whenever HubSpot answers
that it expired.

Errors are raised as `OAuthError` and answered in that document's shape,
`{"error": {"code": ..., "message": ...}}`.
"""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from api_shim.oauth_grants import OAuthGrant, OAuthGrantStore, StateRejected
from api_shim.tenancy import TenantScoped
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.settings import Settings
from hubspot_deals.source.errors import HubSpotError
from hubspot_deals.source.oauth import HubSpotOAuthApp, HubSpotOAuthError

log = logging.getLogger(__name__)

# A tenant id is 1-255 characters (empty: the default tenant). Control characters never get
# here: the shim's one check of query parameters refuses them before any route runs.
MAX_TENANT_LENGTH = 255
SUCCESS_REDIRECT = "/?hubspot_auth=success"


class OAuthError(Exception):
    """An OAuth endpoint's error: HTTP status, the document's code and a readable message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class OAuthNotConfigured(Exception):
    """The API has no OAuth client id and secret."""


@dataclass(frozen=True)
class TokenStatus:
    grant: OAuthGrant | None
    info: dict[str, Any] | None


class HubSpotOAuthService(TenantScoped):
    """A tenant's HubSpot OAuth grant: login, callback, refresh, status and logout, acting
    only for the tenants of its scope."""

    def __init__(self, destination: Settings) -> None:
        self.settings = destination
        self._made: dict[str, Any] = {}  # the OAuth app and grant store, made on first use
        self._lock = threading.Lock()

    @property
    def app(self) -> HubSpotOAuthApp:
        if not self.settings.oauth_configured:
            raise OAuthNotConfigured()
        with self._lock:
            if "app" not in self._made:
                self._made["app"] = HubSpotOAuthApp(
                    self.settings.oauth_client_id or "",
                    self.settings.oauth_client_secret.get_secret_value(),  # type: ignore[union-attr]
                    self.settings.api_base_url,
                    self.settings.http_timeout_seconds,
                )
            return self._made["app"]

    @property
    def store(self) -> OAuthGrantStore:
        with self._lock:
            if "store" not in self._made:
                self._made["store"] = OAuthGrantStore(
                    self.settings.home, TokenCipher.from_settings(self.settings)
                )
            return self._made["store"]

    def tenant(self, requested: str | None) -> str:
        """The tenant a request acts for: `tenantId`, else the API key's only tenant, else the
        default organization when the API runs with open access."""
        visible = self.scope.tenants
        if requested is None or requested == "":
            if visible is None:
                return self.settings.default_organization_id
            if len(visible) == 1:
                return next(iter(visible))
            raise OAuthError(
                400, "VALIDATION_ERROR", "tenantId is required: this API key has several tenants"
            )
        if len(requested) > MAX_TENANT_LENGTH:
            raise OAuthError(400, "VALIDATION_ERROR", "tenantId must be 1-255 characters")
        if not self.scope.sees(requested):
            raise OAuthError(403, "FORBIDDEN", "This API key may not act for this tenant")
        return requested

    # -- login and callback ---------------------------------------------------------------------

    def login_url(self, tenant: str) -> str:
        self.app  # noqa: B018  refuses before a state is stored when OAuth is not configured
        state = self.store.new_state(tenant, self.settings.oauth_state_ttl_seconds)
        query = urlencode(
            {
                "client_id": self.settings.oauth_client_id,
                "redirect_uri": self.settings.oauth_redirect_uri,
                "scope": self.settings.oauth_scopes,
                "response_type": "code",
                "state": state,
            }
        )
        log.info("oauth login tenant=%s", tenant)
        return f"{self.settings.oauth_authorize_url}?{query}"

    def callback(self, code: str | None, state: str | None, error: str | None) -> str:
        """Where the browser goes next: `/?hubspot_auth=success` or `/?error=<code>`."""
        if not state:
            return _failure("missing_state")
        try:
            tenant = self.store.use_state(state)
        except StateRejected as exc:
            log.warning("oauth callback refused: %s", exc.reason)
            return _failure(exc.reason)
        if error:
            log.info("oauth callback tenant=%s: HubSpot answered %s", tenant, error[:100])
            return _failure(error if error.replace("_", "").isalnum() else "access_denied")
        if not code:
            return _failure("missing_code")
        try:
            tokens = self.app.exchange_code(code, self.settings.oauth_redirect_uri)
            info = self.app.access_token_info(tokens.access_token)
        except HubSpotOAuthError as exc:
            log.warning("oauth callback tenant=%s: %s", tenant, exc)
            return _failure(exc.code.lower())
        except HubSpotError as exc:
            log.warning("oauth callback tenant=%s: %s", tenant, exc)
            return _failure("hubspot_unavailable")
        self.store.save(tenant, tokens, info)
        log.info("oauth grant stored tenant=%s hub_id=%s", tenant, (info or {}).get("hub_id"))
        return SUCCESS_REDIRECT

    # -- refresh, status, logout ----------------------------------------------------------------

    def _grant(self, tenant: str) -> OAuthGrant:
        grant = self.store.get(tenant)
        if grant is None:
            raise OAuthError(401, "NO_REFRESH_TOKEN", "No refresh token available")
        return grant

    def refresh(self, tenant: str) -> OAuthGrant:
        grant = self._grant(tenant)
        try:
            tokens = self.app.refresh(self.store.refresh_token(grant))
        except HubSpotOAuthError as exc:
            raise OAuthError(401, "INVALID_TOKEN", str(exc)) from None
        except HubSpotError as exc:
            raise OAuthError(503, "SERVICE_UNAVAILABLE", str(exc)) from None
        log.info("oauth token refreshed tenant=%s", tenant)
        return self.store.save(tenant, tokens, None)

    def status(self, tenant: str) -> TokenStatus:
        grant = self.store.get(tenant)
        if grant is None:
            return TokenStatus(None, None)
        if grant.access_token_expires_at <= time.time():
            grant = self.refresh(tenant)
        try:
            info = self.app.access_token_info(self.store.access_token(grant))
        except HubSpotError as exc:
            raise OAuthError(503, "SERVICE_UNAVAILABLE", str(exc)) from None
        return TokenStatus(grant, info)

    def logout(self, tenant: str) -> None:
        """Deletes the tenant's grant, here and at HubSpot (a running scan's next refresh
        then fails)."""
        grant = self.store.get(tenant)
        if grant is None:
            return
        try:
            self.app.delete_refresh_token(self.store.refresh_token(grant))
        except HubSpotError as exc:
            log.warning("oauth logout tenant=%s: HubSpot did not delete the token: %s", tenant, exc)
        self.store.delete(tenant)
        log.info("oauth logout tenant=%s", tenant)


def _failure(code: str) -> str:
    return "/?" + urlencode({"error": code})
