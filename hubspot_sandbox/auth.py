"""Private-app tokens and their scopes (and the OAuth access tokens `oauth` issues).

A token is configured as `TOKEN` (every scope) or `TOKEN:scope1,scope2` (only those), on the
command line, in `HUBSPOT_SANDBOX_TOKENS` (whitespace-separated) or through the admin route.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

DEALS_READ = "crm.objects.deals.read"
OWNERS_READ = "crm.objects.owners.read"
DEAL_SCHEMA_READ = "crm.schemas.deals.read"
CUSTOM_SCHEMA_READ = "crm.schemas.custom.read"
# What the token-information endpoint reports for a token configured with every scope: the
# CRM scopes of the objects and schemas the project reads or writes.
EVERY_SCOPE = (
    "crm.objects.companies.read",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    DEALS_READ,
    "crm.objects.line_items.read",
    OWNERS_READ,
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    CUSTOM_SCHEMA_READ,
    DEAL_SCHEMA_READ,
)


def parse_token_spec(spec: str) -> tuple[str, frozenset[str] | None]:
    """`TOKEN` -> (TOKEN, None = all scopes); `TOKEN:a,b` -> (TOKEN, {a, b})."""
    token, sep, scopes = spec.strip().partition(":")
    if not token:
        raise ValueError(f"empty token in {spec!r}")
    if not sep:
        return token, None
    return token, frozenset(s.strip() for s in scopes.split(",") if s.strip())


def generate_token() -> str:
    """A random token for a sandbox started without any (never a HubSpot-looking one)."""
    return "sandbox-" + secrets.token_hex(16)


class TokenStore:
    """Accepted tokens with their scopes; OAuth access tokens also with when they expire."""

    def __init__(self, specs: list[str] | None = None, clock: Callable[[], float] = time.time):
        self._scopes: dict[str, frozenset[str] | None] = {}
        self._expires: dict[str, float] = {}
        self.clock = clock
        for spec in specs or []:
            self.add(*parse_token_spec(spec))

    def __len__(self) -> int:
        return len(self._scopes)

    def add(
        self, token: str, scopes: frozenset[str] | None, expires_at: float | None = None
    ) -> None:
        self._scopes[token] = scopes
        if expires_at is not None:
            self._expires[token] = expires_at

    def revoke(self, token: str) -> bool:
        self._expires.pop(token, None)
        return self._scopes.pop(token, False) is not False

    def tokens(self) -> list[str]:
        return list(self._scopes)

    @staticmethod
    def _bearer(authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def authenticate(self, authorization: str | None) -> str | None:
        """The token of a valid `Authorization: Bearer <token>` header, else None."""
        token = self._bearer(authorization)
        if token is None or token not in self._scopes:
            return None
        if token in self._expires and self._expires[token] <= self.clock():
            return None
        return token

    def expired_at(self, authorization: str | None) -> float | None:
        """When the header's OAuth access token expired, if it is one that did."""
        token = self._bearer(authorization)
        expires_at = self._expires.get(token or "")
        if expires_at is None or expires_at > self.clock():
            return None
        return expires_at

    def scopes_of(self, token: str) -> list[str] | None:
        """A configured, unexpired token's scopes (sorted), else None."""
        if token not in self._scopes or self._expires.get(token, float("inf")) <= self.clock():
            return None
        scopes = self._scopes[token]
        return sorted(EVERY_SCOPE if scopes is None else scopes)

    def allows(self, token: str, scope: str) -> bool:
        scopes = self._scopes.get(token)
        return scopes is None or scope in scopes
