"""The sandbox's OAuth 2.0 endpoints over HTTP: authorize, token exchange and refresh with
HubSpot's error bodies, token information, expiry of access tokens, deletion of a grant."""

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hubspot_sandbox.process import SandboxServer

LIFETIME = 2  # seconds an access token works
REDIRECT = "http://127.0.0.1:9/api/hs/auth/callback"
SCOPES = "crm.objects.deals.read crm.objects.owners.read"


@dataclass
class OAuthSandbox:
    server: SandboxServer
    client_id: str
    secret: str
    session: requests.Session

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def authorize(self, state: str = "s1", **extra: str) -> dict[str, list[str]]:
        params = {"client_id": self.client_id, "redirect_uri": REDIRECT, "scope": SCOPES,
                  "state": state, **extra}  # fmt: skip
        resp = self.session.get(self.url("/oauth/authorize"), params=params, allow_redirects=False)
        assert resp.status_code == 302, resp.text
        location = resp.headers["Location"]
        assert location.startswith(REDIRECT + "?")
        return parse_qs(urlsplit(location).query)

    def token(self, **form: str) -> requests.Response:
        body = {"client_id": self.client_id, "client_secret": self.secret, **form}
        return self.session.post(self.url("/oauth/v1/token"), data=body)

    def exchange(self) -> dict:
        code = self.authorize()["code"][0]
        resp = self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def deals(self, access_token: str) -> requests.Response:
        return self.session.get(
            self.url("/crm/v3/objects/deals"),
            params={"limit": 1},
            headers={"Authorization": f"Bearer {access_token}"},
        )


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthSandbox]:
    client_id, secret = "app-" + secrets.token_hex(4), secrets.token_hex(16)
    with (
        SandboxServer(
            deals=50, oauth_clients=(f"{client_id}:{secret}",), oauth_token_lifetime=LIFETIME
        ) as server,
        requests.Session() as session,
    ):
        yield OAuthSandbox(server, client_id, secret, session)


def test_authorize_redirects_back_with_a_code_and_the_state(oauth: OAuthSandbox) -> None:
    answer = oauth.authorize(state="xyz")
    assert set(answer) == {"code", "state"}
    assert answer["state"] == ["xyz"]
    denied = oauth.authorize(state="xyz", sandbox_decision="deny")
    assert denied == {
        "error": ["access_denied"],
        "error_description": ["The user denied the app's request"],
        "state": ["xyz"],
    }


def test_code_exchange_gives_tokens_in_hubspots_shape(oauth: OAuthSandbox) -> None:
    body = oauth.exchange()
    assert set(body) == {"token_type", "refresh_token", "access_token", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", LIFETIME)
    assert oauth.deals(body["access_token"]).status_code == 200
    info = oauth.session.get(oauth.url(f"/oauth/v1/access-tokens/{body['access_token']}")).json()
    portal = 20_000_001
    assert {k: v for k, v in info.items() if k != "expires_in"} == {
        "token": body["access_token"],
        "user": f"sandbox-user@{portal}.example.com",
        "hub_domain": f"sandbox-{portal}.example.com",
        "scopes": ["crm.objects.deals.read", "crm.objects.owners.read", "oauth"],
        "hub_id": portal,
        "app_id": 1_000_000 + portal % 1_000_000,
        "user_id": 7_000_000 + portal % 1_000_000,
        "token_type": "access",
    }
    assert 0 <= info["expires_in"] <= LIFETIME
    refresh = oauth.session.get(oauth.url(f"/oauth/v1/refresh-tokens/{body['refresh_token']}"))
    assert refresh.json()["client_id"] == oauth.client_id
    assert refresh.json()["token_type"] == "refresh"


def test_an_expired_access_token_gets_expired_authentication(oauth: OAuthSandbox) -> None:
    body = oauth.exchange()
    time.sleep(LIFETIME + 0.5)
    resp = oauth.deals(body["access_token"])
    assert resp.status_code == 401
    assert resp.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
    error = resp.json()
    assert error["status"] == "error"
    assert error["category"] == "EXPIRED_AUTHENTICATION"
    assert error["message"] == "The OAuth token used to make this call expired 0 day(s) ago."
    assert list(error["context"]) == ["expire time"]
    assert error["context"]["expire time"][0].endswith("Z")
    assert (
        oauth.session.get(oauth.url(f"/oauth/v1/access-tokens/{body['access_token']}")).status_code
        == 404
    )
    refreshed = oauth.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] == body["refresh_token"]  # not rotated
    assert refreshed.json()["access_token"] != body["access_token"]
    assert oauth.deals(refreshed.json()["access_token"]).status_code == 200


def _error(resp: requests.Response) -> tuple[int, str, str]:
    body = resp.json()
    assert set(body) == {"status", "message", "correlationId", "requestId"}
    return resp.status_code, body["status"], body["message"]


def test_token_errors_have_hubspots_codes(oauth: OAuthSandbox) -> None:
    code = oauth.authorize()["code"][0]
    assert _error(oauth.token(grant_type="password")) == (
        400, "BAD_GRANT_TYPE", "missing or unknown grant type"
    )  # fmt: skip
    assert _error(oauth.token(grant_type="authorization_code", client_id="nope")) == (
        400, "BAD_CLIENT_ID", "missing or unknown client id"
    )  # fmt: skip
    assert _error(oauth.token(grant_type="refresh_token", client_secret="wrong")) == (
        400, "BAD_CLIENT_SECRET", "missing or invalid client secret"
    )  # fmt: skip
    wrong_uri = oauth.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x")
    assert _error(wrong_uri)[1] == "BAD_REDIRECT_URI"
    ok = oauth.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert ok.status_code == 200
    again = oauth.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert _error(again) == (400, "BAD_AUTH_CODE", "missing or unknown auth code")
    assert _error(oauth.token(grant_type="refresh_token", refresh_token="unknown")) == (
        400, "BAD_REFRESH_TOKEN", "missing or unknown refresh token"
    )  # fmt: skip


def test_deleting_the_refresh_token_ends_the_grant(oauth: OAuthSandbox) -> None:
    body = oauth.exchange()
    path = f"/oauth/v1/refresh-tokens/{body['refresh_token']}"
    assert oauth.session.delete(oauth.url(path)).status_code == 204
    assert oauth.session.get(oauth.url(path)).status_code == 404
    resp = oauth.deals(body["access_token"])
    assert (resp.status_code, resp.json()["category"]) == (401, "INVALID_AUTHENTICATION")
    again = oauth.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert _error(again)[1] == "BAD_REFRESH_TOKEN"


def test_private_app_token_info(oauth: OAuthSandbox) -> None:
    info = "/oauth/v2/private-apps/get/access-token-info"
    portal = 20_000_001
    limited = "limited-" + secrets.token_hex(8)
    oauth.server.admin("POST", "tokens", {"token": limited, "scopes": ["crm.objects.owners.read"]})

    def ask(key: object) -> requests.Response:
        return oauth.session.post(oauth.url(info), json={"tokenKey": key})

    every = ask(oauth.server.token)
    assert every.status_code == 200
    assert every.json() == {
        "userId": 7_000_000 + portal % 1_000_000,
        "hubId": portal,
        "appId": 1_000_000 + portal % 1_000_000,
        "scopes": [
            "crm.objects.companies.read",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "crm.objects.deals.read",
            "crm.objects.line_items.read",
            "crm.objects.owners.read",
            "crm.schemas.contacts.read",
            "crm.schemas.contacts.write",
            "crm.schemas.custom.read",
            "crm.schemas.deals.read",
        ],
    }
    assert ask(limited).json()["scopes"] == ["crm.objects.owners.read"]
    # Not a private app's token: unknown, revoked, or an OAuth access token.
    oauth.server.admin("POST", f"tokens/{limited}/revoke", {})
    access_token = oauth.exchange()["access_token"]
    for key in ("unknown-" + secrets.token_hex(8), limited, access_token):
        answer = ask(key)
        assert answer.status_code == 401
        assert answer.json()["category"] == "INVALID_AUTHENTICATION"
    missing = oauth.session.post(oauth.url(info), json={})
    assert (missing.status_code, missing.json()["message"]) == (400, "tokenKey is required")
