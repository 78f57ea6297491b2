"""`hubspot-deals doctor` against the sandbox: a full-scope token, one lacking a scope a scan
needs, an OAuth access token, a bad token and an unreachable HubSpot."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hubspot_deals.stack import free_port
from hubspot_deals_tests.cli_runs import one_line_error, run_cli
from hubspot_deals_tests.sandbox.conftest import make_token
from hubspot_sandbox.process import SandboxServer

DEALS, SEED = 600, 4
PORTAL = 20_000_000 + SEED
CLIENT_ID, CLIENT_SECRET = "app-" + secrets.token_hex(4), secrets.token_hex(16)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        deals=DEALS,
        seed=SEED,
        tokens=[make_token()],
        rate_limit=100,
        oauth_clients=(f"{CLIENT_ID}:{CLIENT_SECRET}",),
    ) as server:
        yield server


def doctor(sandbox: SandboxServer, token: str, tmp_path: Path):
    env = {"HUBSPOT_API_BASE_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": token}
    proc = run_cli(["doctor"], tmp_path, env)
    assert token not in proc.stdout + proc.stderr
    return proc


def test_a_full_scope_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    proc = doctor(sandbox, sandbox.token, tmp_path)
    assert proc.returncode == 0, proc.stderr
    live = sandbox.account().live_count
    assert proc.stdout.splitlines() == [
        f"HubSpot         {sandbox.base_url}",
        "token           valid: private app (app 1000004)",
        f"portal          {PORTAL}",
        "scope           crm.objects.deals.read       granted",
        "scope           crm.objects.owners.read      granted",
        "scope           crm.schemas.deals.read       granted",
        "other scopes    crm.objects.companies.read, crm.objects.contacts.read, "
        "crm.objects.contacts.write, crm.objects.line_items.read, crm.schemas.contacts.read, "
        "crm.schemas.contacts.write, crm.schemas.custom.read",
        f"deals           {live:,} (live; archived ones are not counted)",
        "rate limit      100 requests per 10 s; 250,000 a day, 249,998 left",
        "full scan       about 1 s at 1,879 deals/s (measured at this limit in docs/benchmarks.md)",
    ]
    assert proc.stderr == ""


def test_a_token_lacking_deals_read(sandbox: SandboxServer, tmp_path: Path) -> None:
    token = make_token()
    scopes = ["crm.objects.owners.read", "crm.schemas.deals.read"]
    sandbox.admin("POST", "tokens", {"token": token, "scopes": scopes})
    proc = doctor(sandbox, token, tmp_path)
    assert one_line_error(proc, 1) == (
        "error: the token lacks crm.objects.deals.read (for deals and pipelines): add it to the "
        "app's scopes and use its new token"
    )
    assert "scope           crm.objects.deals.read       MISSING" in proc.stdout


def test_an_oauth_access_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    redirect = "http://127.0.0.1:9/callback"
    scopes = "crm.objects.deals.read crm.objects.owners.read crm.schemas.deals.read"
    consent = requests.get(
        sandbox.url("/oauth/authorize"),
        params={"client_id": CLIENT_ID, "redirect_uri": redirect, "scope": scopes},
        allow_redirects=False,
        timeout=30,
    )
    code = consent.headers["Location"].split("code=")[1]
    tokens = requests.post(
        sandbox.url("/oauth/v1/token"),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
              "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=30,
    ).json()  # fmt: skip
    proc = doctor(sandbox, tokens["access_token"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "token           valid: OAuth access token (app 1000004)" in proc.stdout
    assert f"portal          {PORTAL}" in proc.stdout
    assert "other scopes    oauth" in proc.stdout


def test_a_bad_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    assert one_line_error(doctor(sandbox, make_token(), tmp_path), 1) == (
        "error: HubSpot does not know this token (not a private app's, not an OAuth access "
        "token): it is mistyped, revoked or expired"
    )


def test_hubspot_unreachable(tmp_path: Path) -> None:
    env = {
        "HUBSPOT_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "HUBSPOT_ACCESS_TOKEN": make_token(),
    }
    assert one_line_error(run_cli(["doctor"], tmp_path, env), 1) == (
        "error: ConnectionError talking to HubSpot; gave up after 3 attempts"
    )


def test_no_token(tmp_path: Path) -> None:
    assert one_line_error(run_cli(["doctor"], tmp_path), 2) == (
        "error: no token: set HUBSPOT_ACCESS_TOKEN or pass --token"
    )
