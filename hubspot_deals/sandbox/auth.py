"""Private-app tokens and their scopes.

A token is configured as `TOKEN` (every scope) or `TOKEN:scope1,scope2` (only those), on the
command line, in `HUBSPOT_SANDBOX_TOKENS` (whitespace-separated) or through the admin route.
"""

from __future__ import annotations

import secrets

DEALS_READ = "crm.objects.deals.read"
OWNERS_READ = "crm.objects.owners.read"
DEAL_SCHEMA_READ = "crm.schemas.deals.read"
CUSTOM_SCHEMA_READ = "crm.schemas.custom.read"


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
    def __init__(self, specs: list[str] | None = None) -> None:
        self._scopes: dict[str, frozenset[str] | None] = {}
        for spec in specs or []:
            self.add(*parse_token_spec(spec))

    def __len__(self) -> int:
        return len(self._scopes)

    def add(self, token: str, scopes: frozenset[str] | None) -> None:
        self._scopes[token] = scopes

    def revoke(self, token: str) -> bool:
        return self._scopes.pop(token, False) is not False

    def tokens(self) -> list[str]:
        return list(self._scopes)

    def authenticate(self, authorization: str | None) -> str | None:
        """The token of a valid `Authorization: Bearer <token>` header, else None."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self._scopes:
            return None
        return token

    def allows(self, token: str, scope: str) -> bool:
        scopes = self._scopes.get(token)
        return scopes is None or scope in scopes
