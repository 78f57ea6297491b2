"""HubSpot's OAuth 2.0 endpoints, so that apps' authorization code flow runs offline.

- `GET /oauth/authorize` (HubSpot serves it on app.hubspot.com, with a consent screen): the
  sandbox approves at once and redirects to `redirect_uri?code=...&state=...`
  (`sandbox_decision=deny` redirects with `error=access_denied` instead).
- `POST /oauth/v1/token`, form-encoded, `grant_type` `authorization_code` (code, redirect_uri)
  or `refresh_token`, both with `client_id` and `client_secret`:
  `{"token_type":"bearer","refresh_token","access_token","expires_in"}`. Errors are 400s
  `{"status":"BAD_AUTH_CODE","message":...,"correlationId","requestId"}` (also BAD_CLIENT_ID,
  BAD_CLIENT_SECRET, BAD_REDIRECT_URI, BAD_GRANT_TYPE, BAD_REFRESH_TOKEN).
- `GET /oauth/v1/access-tokens/{token}`, `GET|DELETE /oauth/v1/refresh-tokens/{token}`.
- `POST /oauth/v2/private-apps/get/access-token-info` with `{"tokenKey": ...}`: a private app's
  token's `{"userId","hubId","appId","scopes"}`. An unknown key gets HubSpot's usual 401
  INVALID_AUTHENTICATION [unverified: HubSpot's docs do not show this endpoint's errors].

Access tokens it issues work on the CRM routes with the scopes asked for, until they expire
(`--oauth-token-lifetime`, HubSpot: 1800 s); then they get HubSpot's 401
`EXPIRED_AUTHENTICATION`. Refresh tokens do not expire and are not rotated by a refresh, as on
HubSpot; deleting one (logout) ends it and the access tokens issued from it.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hubspot_sandbox import errors
from hubspot_sandbox.auth import TokenStore
from hubspot_sandbox.exchange import ApiError, Reply, Request

PRIVATE_APP_TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
AUTH_CODE_LIFETIME_SECONDS = 600.0  # [unverified] HubSpot does not document it
TOKEN_ERRORS = {
    "BAD_GRANT_TYPE": "missing or unknown grant type",
    "BAD_CLIENT_ID": "missing or unknown client id",
    "BAD_CLIENT_SECRET": "missing or invalid client secret",
    "BAD_REDIRECT_URI": "redirect_uri does not match the one the auth code was issued for",
    "BAD_AUTH_CODE": "missing or unknown auth code",
    "BAD_REFRESH_TOKEN": "missing or unknown refresh token",
}


def parse_client_spec(spec: str) -> tuple[str, str]:
    """`CLIENT_ID:CLIENT_SECRET` -> (id, secret)."""
    client_id, sep, secret = spec.strip().partition(":")
    if not client_id or not sep or not secret:
        raise ValueError(f"expected CLIENT_ID:CLIENT_SECRET, not {spec!r}")
    return client_id, secret


@dataclass
class _Grant:
    """What one installation (a user's consent for an app) gives: one refresh token."""

    client_id: str
    scopes: list[str]
    refresh_token: str
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    expires_at: float


class OAuthServer:
    def __init__(
        self,
        clients: list[str] | tuple[str, ...],
        tokens: TokenStore,
        portal_id: int,
        token_lifetime_seconds: int,
        clock: Any = time.time,
    ) -> None:
        self.clients = dict(parse_client_spec(spec) for spec in clients)
        self.tokens = tokens
        self.portal_id = portal_id
        self.app_id = 1_000_000 + portal_id % 1_000_000
        self.token_lifetime = token_lifetime_seconds
        self.clock = clock
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}  # by refresh token
        self._access: dict[str, tuple[_Grant, float]] = {}  # token -> (grant, expires at)
        self._lock = threading.Lock()

    def handles(self, path: str) -> bool:
        return path in ("/oauth/authorize", PRIVATE_APP_TOKEN_INFO) or path.startswith("/oauth/v1/")

    @staticmethod
    def route_name(method: str, path: str) -> str:
        """The route in the stats, without the token a path may carry."""
        for prefix in ("/oauth/v1/access-tokens/", "/oauth/v1/refresh-tokens/"):
            if path.startswith(prefix):
                return f"{method} {prefix}{{token}}"
        return f"{method} {path}"

    def handle(self, request: Request) -> Reply:
        path, method = request.path, request.method
        if path == "/oauth/authorize" and method == "GET":
            return self.authorize(request)
        if path == "/oauth/v1/token" and method == "POST":
            return self.token(request)
        if path == PRIVATE_APP_TOKEN_INFO and method == "POST":
            return self.private_app_token_info(request)
        for prefix, kind in (("/oauth/v1/access-tokens/", "access"),
                             ("/oauth/v1/refresh-tokens/", "refresh")):  # fmt: skip
            if path.startswith(prefix) and len(path) > len(prefix):
                token = path[len(prefix) :]
                if method == "GET" and kind == "access":
                    return self.access_info(request, token)
                if method == "GET":
                    return self.refresh_info(request, token)
                if method == "DELETE" and kind == "refresh":
                    return self.delete_refresh_token(request, token)
        return Reply(404, errors.not_found(request.correlation_id, f"No route for {path}"))

    # -- authorize ----------------------------------------------------------------------------

    def authorize(self, request: Request) -> Reply:
        client_id = request.param("client_id") or ""
        redirect_uri = request.param("redirect_uri") or ""
        if client_id not in self.clients:
            return self._token_error(request, "BAD_CLIENT_ID")
        if not redirect_uri.startswith(("http://", "https://")):
            return self._token_error(request, "BAD_REDIRECT_URI")
        answer: dict[str, str] = {}
        if request.param("sandbox_decision") == "deny":
            answer["error"] = "access_denied"
            answer["error_description"] = "The user denied the app's request"
        else:
            code = secrets.token_hex(16)
            scopes = sorted({*(request.param("scope") or "").split(), "oauth"})
            with self._lock:
                self._codes[code] = _Code(
                    client_id, redirect_uri, scopes, self.clock() + AUTH_CODE_LIFETIME_SECONDS
                )
            answer["code"] = code
        state = request.param("state")
        if state is not None:
            answer["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        location = redirect_uri + separator + urlencode(answer)
        return Reply(302, {"redirect": location}, [(b"Location", location.encode())])

    # -- token --------------------------------------------------------------------------------

    def token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        grant_type = form.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            return self._token_error(request, "BAD_GRANT_TYPE")
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            return self._token_error(request, "BAD_CLIENT_ID")
        if not secrets.compare_digest(form.get("client_secret", ""), self.clients[client_id]):
            return self._token_error(request, "BAD_CLIENT_SECRET")
        with self._lock:
            if grant_type == "authorization_code":
                code = self._codes.get(form.get("code", ""))
                if code is None or code.client_id != client_id or code.expires_at < self.clock():
                    return self._token_error(request, "BAD_AUTH_CODE")
                if form.get("redirect_uri", "") != code.redirect_uri:
                    return self._token_error(request, "BAD_REDIRECT_URI")
                del self._codes[form["code"]]  # single use
                grant = _Grant(client_id, code.scopes, "sandbox-refresh-" + secrets.token_hex(16))
                self._grants[grant.refresh_token] = grant
            else:
                grant = self._grants.get(form.get("refresh_token", ""))
                if grant is None or grant.client_id != client_id:
                    return self._token_error(request, "BAD_REFRESH_TOKEN")
            access_token = "sandbox-oauth-" + secrets.token_hex(20)
            expires_at = self.clock() + self.token_lifetime
            grant.access_tokens.add(access_token)
            self._access[access_token] = (grant, expires_at)
        self.tokens.add(access_token, frozenset(grant.scopes), expires_at=expires_at)
        return Reply(
            200,
            {
                "token_type": "bearer",
                "refresh_token": grant.refresh_token,
                "access_token": access_token,
                "expires_in": self.token_lifetime,
            },
        )

    def _token_error(self, request: Request, status: str) -> Reply:
        return Reply(
            400,
            {
                "status": status,
                "message": TOKEN_ERRORS[status],
                "correlationId": request.correlation_id,
                "requestId": str(uuid.uuid4()),
            },
        )

    # -- token information, logout ------------------------------------------------------------

    def _identity(self, grant: _Grant) -> dict[str, Any]:
        return {
            "user": f"sandbox-user@{self.portal_id}.example.com",
            "hub_domain": f"sandbox-{self.portal_id}.example.com",
            "scopes": grant.scopes,
            "hub_id": self.portal_id,
            "user_id": 7_000_000 + self.portal_id % 1_000_000,
        }

    def access_info(self, request: Request, token: str) -> Reply:
        with self._lock:
            entry = self._access.get(token)
        if entry is None or entry[1] <= self.clock():
            return Reply(404, errors.not_found(request.correlation_id, "access token not found"))
        grant, expires_at = entry
        body = {"token": token, **self._identity(grant), "app_id": self.app_id,
                "expires_in": int(expires_at - self.clock()), "token_type": "access"}  # fmt: skip
        return Reply(200, body)

    def private_app_token_info(self, request: Request) -> Reply:
        """A private app's token (not one of the OAuth access tokens issued here)."""
        try:
            body = request.json()
        except ApiError as exc:
            return Reply(exc.status, exc.body)
        key = body.get("tokenKey") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            return Reply(400, errors.validation("tokenKey is required", request.correlation_id))
        with self._lock:
            issued_here = key in self._access
        scopes = None if issued_here else self.tokens.scopes_of(key)
        if scopes is None:
            return Reply(401, errors.invalid_authentication(request.correlation_id))
        body = {"userId": 7_000_000 + self.portal_id % 1_000_000, "hubId": self.portal_id,
                "appId": self.app_id, "scopes": scopes}  # fmt: skip
        return Reply(200, body)

    def refresh_info(self, request: Request, token: str) -> Reply:
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            return Reply(404, errors.not_found(request.correlation_id, "refresh token not found"))
        body = {"token": token, **self._identity(grant), "client_id": grant.client_id,
                "token_type": "refresh"}  # fmt: skip
        return Reply(200, body)

    def delete_refresh_token(self, request: Request, token: str) -> Reply:
        with self._lock:
            grant = self._grants.pop(token, None)
            if grant is not None:
                for access_token in grant.access_tokens:
                    self._access.pop(access_token, None)
        if grant is None:
            return Reply(404, errors.not_found(request.correlation_id, "refresh token not found"))
        for access_token in grant.access_tokens:
            self.tokens.revoke(access_token)
        return Reply(204, b"")


def expired_authentication(correlation_id: str, expired_at: float, now: float) -> dict[str, Any]:
    """HubSpot's 401 for an OAuth access token past its lifetime."""
    days = int((now - expired_at) // 86400)
    stamp = datetime.fromtimestamp(expired_at, UTC).isoformat(timespec="milliseconds")
    return errors.error(
        f"The OAuth token used to make this call expired {days} day(s) ago.",
        correlation_id,
        "EXPIRED_AUTHENTICATION",
        context={"expire time": [stamp.replace("+00:00", "Z")]},
    )
