"""Sandbox servers for the tests: real subprocesses on free ports, small accounts."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.process import SandboxServer

DEALS = 2_500
SEED = 7


def make_token() -> str:
    """A token made at run time: nothing token-like is kept in the repository."""
    return "test-" + secrets.token_hex(12)


@dataclass
class Sandbox:
    """A running server, its tokens and the account it serves."""

    server: SandboxServer
    token: str
    deals_only_token: str
    owners_only_token: str
    account: SandboxAccount
    session: requests.Session
    crm: CrmObjects

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def get(self, path: str, token: str | None = None, **kwargs: object) -> requests.Response:
        return self.session.get(
            self.base_url + path,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )

    def post(self, path: str, body: object, token: str | None = None, **kwargs: object):
        return self.send("POST", path, body, token, **kwargs)

    def send(self, method: str, path: str, body: object = None, token: str | None = None,
             **kwargs: object) -> requests.Response:  # fmt: skip
        return self.session.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A read-only server shared by the tests that do not change its data or limits."""
    token, deals_only, owners_only = make_token(), make_token(), make_token()
    tokens = [
        token,
        f"{deals_only}:crm.objects.deals.read",
        f"{owners_only}:crm.objects.owners.read",
    ]
    with SandboxServer(deals=DEALS, seed=SEED, tokens=tokens) as server, requests.Session() as s:
        account = server.account()
        yield Sandbox(server, token, deals_only, owners_only, account, s, CrmObjects(account))
