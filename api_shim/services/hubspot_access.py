"""Which HubSpot token the API uses for a tenant's own calls to HubSpot (the contacts API), and
one client per token so that every request of this process paces on the same learned limits.

A tenant's credentials, in order:
1. its OAuth grant (`/api/hs/auth/login`), whose access token is refreshed here when it expires
   or when HubSpot answers that it did; the refreshed token is stored encrypted again;
2. its private-app token: the organization's `token_env` in the organizations file
   (`HUBSPOT_DEALS_ORGANIZATIONS_FILE`), read from this process's environment.

Another tenant's grant or token is never used: the tenant comes from the API key.
"""

import hashlib
import os
import threading
import time

from api_shim.services.hubspot_oauth import HubSpotOAuthService, OAuthNotConfigured
from hubspot_deals.organizations import OrganizationsFileError, load_organizations
from hubspot_deals.settings import Settings
from hubspot_deals.source.client import HubSpotClient

# A contacts request waits this long at most for HubSpot's rate limit before it answers 429:
# a scan can wait minutes, a caller of the REST API should not.
API_RATE_LIMIT_PATIENCE_SECONDS = 20.0


class NotConnected(Exception):
    """The tenant has neither an OAuth grant nor a private-app token."""


class GrantAccessToken:
    """A tenant's OAuth grant as the client's token provider (`AccessTokenProvider`)."""

    def __init__(self, oauth: HubSpotOAuthService, tenant: str) -> None:
        self.oauth, self.tenant = oauth, tenant
        self._lock = threading.Lock()

    def current(self) -> str:
        with self._lock:
            grant = self.oauth.store.get(self.tenant)
            if grant is None:
                raise NotConnected(self.tenant)
            if grant.access_token_expires_at <= time.time() + 60:
                grant = self.oauth.refresh(self.tenant)
            return self.oauth.store.access_token(grant)

    def refresh(self, expired: str) -> str:
        with self._lock:
            grant = self.oauth.store.get(self.tenant)
            if grant is None:
                raise NotConnected(self.tenant)
            if self.oauth.store.access_token(grant) == expired:
                grant = self.oauth.refresh(self.tenant)
            return self.oauth.store.access_token(grant)


class HubSpotAccess:
    """HubSpot clients per tenant credential, shared by the requests of this process."""

    def __init__(self, settings: Settings, oauth: HubSpotOAuthService) -> None:
        self.settings, self.oauth = settings, oauth
        self._clients: dict[tuple[str, str], HubSpotClient] = {}
        self._lock = threading.Lock()

    def client(self, tenant: str) -> HubSpotClient:
        """The tenant's client; `NotConnected` when it has no credentials."""
        key, token = self._credential(tenant)
        with self._lock:
            client = self._clients.get((tenant, key))
            if client is None:
                client = HubSpotClient(
                    token,
                    self.settings.api_base_url,
                    timeout=self.settings.http_timeout_seconds,
                    max_attempts=4,
                    max_backoff=4.0,
                    max_rate_limit_wait=API_RATE_LIMIT_PATIENCE_SECONDS,
                )
                self._clients[(tenant, key)] = client
            return client

    def _credential(self, tenant: str) -> tuple[str, str | GrantAccessToken]:
        try:
            if self.oauth.store.get(tenant) is not None and self.settings.oauth_configured:
                return "oauth", GrantAccessToken(self.oauth, tenant)
        except OAuthNotConfigured:
            pass
        try:
            organizations = load_organizations(self.settings.organizations_file)
        except OrganizationsFileError:
            organizations = []
        for organization in organizations:
            token = os.environ.get(organization.token_env, "")
            if organization.id == tenant and token:
                # The key names the token without holding it: a changed token gets a new client.
                return "private-" + hashlib.sha256(token.encode()).hexdigest()[:12], token
        raise NotConnected(tenant)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
