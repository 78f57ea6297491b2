"""HubSpot's OAuth 2.0 token endpoints, for an app with a client id and secret.

`HubSpotOAuthApp` exchanges authorization codes, refreshes access tokens, reads token
information and deletes refresh tokens. `RefreshingAccessToken` is the HubSpot client's token
provider for scans authorized by OAuth: it hands out the current access token and swaps it for
a fresh one when HubSpot answers that it expired (OAuth access tokens live 30 minutes).
Neither the client secret nor any token ever appears in a message or log line.
"""

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import orjson
import requests

from hubspot_deals.source.errors import HubSpotAuthenticationError, HubSpotRequestError

TOKEN_PATH = "/oauth/v1/token"


class AccessTokenProvider(Protocol):
    """Where the HubSpot client gets its access token, and a fresh one once it expired."""

    def current(self) -> str: ...

    def refresh(self, expired: str) -> str: ...


class HubSpotOAuthError(HubSpotAuthenticationError):
    """HubSpot refused a token request: `code` is its status (BAD_AUTH_CODE,
    BAD_REFRESH_TOKEN, BAD_CLIENT_ID, BAD_CLIENT_SECRET, BAD_REDIRECT_URI, ...)."""

    def __init__(self, message: str, code: str, *, status: int | None, correlation_id: str = ""):
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.code = code


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    obtained_at: float

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.expires_in


class HubSpotOAuthApp:
    """One OAuth app (client id and secret) talking to HubSpot's token endpoints."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str = "https://api.hubapi.com",
        timeout: float = 30.0,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            "exchange the authorization code",
        )

    def refresh(self, refresh_token: str) -> OAuthTokens:
        return self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            "refresh the OAuth access token",
        )

    def access_token_info(self, access_token: str) -> dict[str, Any] | None:
        """HubSpot's information on the token (hub id, scopes, ...); None once it is unknown
        or expired."""
        resp = self._call("GET", f"/oauth/v1/access-tokens/{quote(access_token, safe='')}")
        if resp.status_code == 404:
            return None
        self._raise_for_status(resp, "read the access token's information")
        return orjson.loads(resp.content)

    def delete_refresh_token(self, refresh_token: str) -> bool:
        """Ends the grant at HubSpot; False when HubSpot no longer knew the token."""
        resp = self._call("DELETE", f"/oauth/v1/refresh-tokens/{quote(refresh_token, safe='')}")
        if resp.status_code == 404:
            return False
        self._raise_for_status(resp, "delete the refresh token")
        return True

    def close(self) -> None:
        self.session.close()

    # -- internals ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        try:
            return self.session.request(
                method,
                self.base_url + path,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HubSpotRequestError(
                f"{type(exc).__name__} talking to HubSpot's OAuth endpoints", status=None
            ) from None

    def _token_request(self, form: dict[str, str], what: str) -> OAuthTokens:
        form = {**form, "client_id": self.client_id, "client_secret": self._client_secret}
        started = time.time()
        resp = self._call("POST", TOKEN_PATH, form)
        self._raise_for_status(resp, what)
        body = orjson.loads(resp.content)
        return OAuthTokens(
            body["access_token"], body["refresh_token"], int(body["expires_in"]), started
        )

    @staticmethod
    def _raise_for_status(resp: Any, what: str) -> None:
        if resp.status_code < 300:
            return
        correlation_id = resp.headers.get("X-HubSpot-Correlation-Id", "")
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code = str(body.get("status") or body.get("category") or resp.status_code)
        message = str(body.get("message") or resp.reason)[:300]
        if resp.status_code >= 500:
            raise HubSpotRequestError(
                f"HubSpot answered {resp.status_code} when asked to {what}: {message}",
                status=resp.status_code,
                correlation_id=correlation_id,
            )
        raise HubSpotOAuthError(
            f"HubSpot refused to {what} ({resp.status_code} {code}): {message}",
            code,
            status=resp.status_code,
            correlation_id=correlation_id,
        )


class RefreshingAccessToken:
    """The access token of an OAuth grant, refreshed with its refresh token when it expired.

    Shared by the client's threads: when several requests see the same expired token at once,
    one refresh serves them all.
    """

    def __init__(self, app: HubSpotOAuthApp, refresh_token: str, access_token: str | None):
        self.app = app
        self._refresh_token = refresh_token
        self._access_token = access_token
        self._lock = threading.Lock()
        self.refreshes = 0

    def current(self) -> str:
        with self._lock:
            if self._access_token is None:
                self._refresh_locked()
            return self._access_token  # type: ignore[return-value]

    def refresh(self, expired: str) -> str:
        with self._lock:
            if self._access_token == expired or self._access_token is None:
                self._refresh_locked()
            return self._access_token  # type: ignore[return-value]

    def worker_spec(self) -> dict[str, Any]:
        """What another process (the deal reader's) needs to refresh on its own. Secrets: only
        for a pipe to a child process, never for config, argv, environment or logs."""
        with self._lock:
            return {
                "client_id": self.app.client_id,
                "client_secret": self.app._client_secret,
                "base_url": self.app.base_url,
                "timeout": self.app.timeout,
                "refresh_token": self._refresh_token,
                "access_token": self._access_token,
            }

    @classmethod
    def from_worker_spec(cls, spec: dict[str, Any]) -> "RefreshingAccessToken":
        app = HubSpotOAuthApp(
            spec["client_id"], spec["client_secret"], spec["base_url"], spec["timeout"]
        )
        return cls(app, spec["refresh_token"], spec["access_token"])

    def _refresh_locked(self) -> None:
        tokens = self.app.refresh(self._refresh_token)
        self._access_token = tokens.access_token
        self.refreshes += 1
