"""HubSpot OAuth end to end: the sandbox as HubSpot (authorize, token, token info), `dagster
dev`, the shim under uvicorn. A tenant logs in, HubSpot redirects back, the grant is stored;
a scan started with the grant completes with exact data although its access token expires
several times while it runs; state (CSRF) checks, refresh errors and logout."""

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import DagsterDev
from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.slow

SEED = 11
HUB_ID = 20_000_000 + SEED
TOKEN_LIFETIME = 2
STATE_TTL = 6
TENANT = "org-oauth"


@dataclass
class Stack:
    sandbox: SandboxServer
    dagster: DagsterDev
    shim: Shim
    client_secret: str
    account: SandboxAccount

    def hs(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.shim.session.request(
            method, self.shim.url + "/api/hs/auth" + path, timeout=60, allow_redirects=False,
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    def login(self, tenant: str = TENANT) -> str:
        resp = self.hs("GET", "/login", params={"tenantId": tenant})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert (body["success"], body["message"]) == (
            True,
            "Redirect user to this URL for authentication",
        )
        return body["authUrl"]

    def approve(self, auth_url: str, **extra: str) -> str:
        """HubSpot's consent page (the sandbox approves): the callback URL it redirects to."""
        resp = requests.get(auth_url, params=extra, allow_redirects=False, timeout=30)
        assert resp.status_code == 302, resp.text
        return resp.headers["Location"]

    def callback(self, url: str) -> str:
        resp = self.shim.session.get(url, allow_redirects=False, timeout=60)
        assert resp.status_code == 302, resp.text
        return resp.headers["location"]


@pytest.fixture(scope="module")
def stack(module_dir: Path, clean_env: None) -> Iterator[Stack]:
    client_id, client_secret = "app-" + secrets.token_hex(4), secrets.token_hex(16)
    with SandboxServer(
        deals=8_000,
        seed=SEED,
        tokens=[fake_token()],
        oauth_clients=(f"{client_id}:{client_secret}",),
        oauth_token_lifetime=TOKEN_LIFETIME,
        latency_ms=40,
    ) as sandbox:
        home = home_env(module_dir)
        oauth_env = {
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_DEALS_OAUTH_CLIENT_ID": client_id,
            "HUBSPOT_DEALS_OAUTH_CLIENT_SECRET": client_secret,
        }
        with DagsterDev({**home, **oauth_env}, module_dir) as dagster:
            shim = Shim(shim_env(dagster, {**home, **oauth_env}, open_access="true"), module_dir)
            shim.process.env.update(
                {
                    "HUBSPOT_DEALS_OAUTH_REDIRECT_URI": shim.url + "/api/hs/auth/callback",
                    "HUBSPOT_DEALS_OAUTH_AUTHORIZE_URL": sandbox.base_url + "/oauth/authorize",
                    "HUBSPOT_DEALS_OAUTH_STATE_TTL_SECONDS": str(STATE_TTL),
                }
            )
            with shim:
                shim.wait_healthy()
                yield Stack(sandbox, dagster, shim, client_secret, sandbox.account())


def test_login_authorize_callback_status_scan_logout(stack: Stack) -> None:
    shim = stack.shim
    status = stack.hs("GET", "/status", params={"tenantId": TENANT})
    assert status.json() == {"authenticated": False, "message": "Not authenticated with HubSpot"}

    auth_url = stack.login()
    assert auth_url.startswith(stack.sandbox.base_url + "/oauth/authorize?")
    query = parse_qs(urlsplit(auth_url).query)
    assert query["redirect_uri"] == [shim.url + "/api/hs/auth/callback"]
    assert query["response_type"] == ["code"]
    assert stack.client_secret not in auth_url
    callback_url = stack.approve(auth_url)
    assert callback_url.startswith(shim.url + "/api/hs/auth/callback?code=")
    assert stack.callback(callback_url) == "/?hubspot_auth=success"

    info = stack.hs("GET", "/status", params={"tenantId": TENANT}).json()
    assert (info["authenticated"], info["message"]) == (True, "Authenticated with HubSpot")
    assert {k: info["tokenInfo"][k] for k in ("scopes", "hubId", "appId")} == {
        "scopes": [
            "crm.objects.deals.read",
            "crm.objects.owners.read",
            "crm.schemas.deals.read",
            "oauth",
        ],
        "hubId": HUB_ID,
        "appId": 1_000_000 + HUB_ID % 1_000_000,
    }
    assert info["tokenInfo"]["expiresAt"].endswith("Z")

    # The scan outlives its access token: every request after the expiry is refused with
    # EXPIRED_AUTHENTICATION, and the scan refreshes the token and goes on.
    stack.sandbox.reset_stats()
    started = shim.post(
        "/scan/start",
        json={
            "config": {
                "scanId": "oauth-scan",
                "organizationId": TENANT,
                "type": ["user"],
                "auth": {"oauth": True},
            }
        },  # fmt: skip
    )
    assert started.status_code == 202, started.text
    done = shim.wait_status("oauth-scan", ("completed",), timeout=600)
    live = stack.account.live_count
    assert done["recordsExtracted"] == live
    deals = shim.all_records("oauth-scan", "deals")
    assert [d["id"] for d in deals] == stack.account.live_deal_ids()
    assert [d["dealname"] for d in deals] == [
        stack.account.deal_by_id(d["id"])["properties"]["dealname"] for d in deals
    ]
    requests_by_route = stack.sandbox.stats()["requests"]
    expired = sum(
        counts.get("401", 0) for route, counts in requests_by_route.items() if "crm" in route
    )
    refreshes = requests_by_route["POST /oauth/v1/token"]["200"]
    # At the first request (the token from the login has expired by then) and mid-scan; requests
    # in flight together share one refresh.
    assert 2 <= refreshes <= expired, requests_by_route

    # The run config holds only ciphertext: no token and never the client secret.
    runs = stack.dagster.graphql(
        """query($filter: RunsFilter) { runsOrError(filter: $filter) {
             ... on Runs { results { runConfigYaml } } } }""",
        {"filter": {"tags": [{"key": "dagster/partition", "value": "oauth-scan"}]}},
    )["runsOrError"]["results"]
    config_yaml = runs[0]["runConfigYaml"]
    assert "oauth_refresh_token_ciphertext" in config_yaml
    assert "access_token_ciphertext" in config_yaml
    for secret in (stack.client_secret, "sandbox-oauth-", "sandbox-refresh-"):
        assert secret not in config_yaml
    assert stack.client_secret not in shim.log()

    refreshed = stack.hs("POST", "/refresh", params={"tenantId": TENANT})
    assert refreshed.json() == {
        "success": True,
        "message": "Token refreshed successfully",
        "expiresIn": TOKEN_LIFETIME,
    }

    logout = stack.hs("POST", "/logout", params={"tenantId": TENANT})
    assert logout.json() == {"success": True, "message": "Logged out from HubSpot successfully"}
    after = stack.hs("GET", "/status", params={"tenantId": TENANT})
    assert after.json() == {"authenticated": False, "message": "Not authenticated with HubSpot"}
    no_grant = stack.hs("POST", "/refresh", params={"tenantId": TENANT})
    assert (no_grant.status_code, no_grant.json()) == (
        401,
        {"error": {"code": "NO_REFRESH_TOKEN", "message": "No refresh token available"}},
    )
    again = shim.post(
        "/scan/start",
        json={
            "config": {
                "scanId": "oauth-scan-2",
                "organizationId": TENANT,
                "type": ["user"],
                "auth": {"oauth": True},
            }
        },  # fmt: skip
    )
    message = (
        f"Organization '{TENANT}' has not authorized HubSpot OAuth: GET /api/hs/auth/login "
        "first, or send auth.accessToken"
    )
    assert (again.status_code, again.json()["message"]) == (400, message)


def test_callback_state_is_single_use_bound_and_expiring(stack: Stack) -> None:
    tenant = "org-csrf"
    callback_url = stack.approve(stack.login(tenant))
    query = parse_qs(urlsplit(callback_url).query)
    forged = callback_url.replace(query["state"][0], secrets.token_urlsafe(32))
    assert stack.callback(forged) == "/?error=invalid_state"
    missing = callback_url.split("&state=")[0]
    assert stack.callback(missing) == "/?error=missing_state"
    assert stack.callback(callback_url) == "/?hubspot_auth=success"
    assert stack.callback(callback_url) == "/?error=invalid_state"  # used once already

    late = stack.approve(stack.login(tenant))
    time.sleep(STATE_TTL + 1)
    assert stack.callback(late) == "/?error=expired_state"

    denied = stack.approve(stack.login(tenant), sandbox_decision="deny")
    assert stack.callback(denied) == "/?error=access_denied"
    bad_code = stack.approve(stack.login(tenant)).replace("code=", "code=x")
    assert stack.callback(bad_code) == "/?error=bad_auth_code"
    stack.hs("POST", "/logout", params={"tenantId": tenant})


def test_oauth_endpoints_validate_their_input(stack: Stack) -> None:
    resp = stack.hs("GET", "/status", params={"tenantId": "bad\x01tenant"})
    control = "Control characters (U+0000-U+001F, U+007F-U+009F) are not allowed"
    assert (resp.status_code, resp.json()) == (
        400,
        {
            "error": {
                "code": "VALIDATION_ERROR",
                "message": "Input validation failed",
                "details": {"fields": [{"field": "tenantId", "message": control}]},
            }
        },
    )
    long = stack.hs("GET", "/status", params={"tenantId": "t" * 256})
    assert (long.status_code, long.json()) == (
        400,
        {"error": {"code": "VALIDATION_ERROR", "message": "tenantId must be 1-255 characters"}},
    )
    never = stack.hs("POST", "/refresh", params={"tenantId": "org-never-authorized"})
    assert never.json()["error"]["code"] == "NO_REFRESH_TOKEN"
    browser = stack.hs("GET", "/login", params={"tenantId": TENANT},
                       headers={"Accept": "text/html,application/xhtml+xml"})  # fmt: skip
    assert browser.status_code == 302
    assert browser.headers["location"].startswith(stack.sandbox.base_url + "/oauth/authorize?")
