"""Tenants' HubSpot OAuth grants and the pending logins' states, in one JSON file.

`<HUBSPOT_DEALS_HOME>/hubspot_oauth.json` (mode 0600) holds, per tenant, the refresh token and
the latest access token **encrypted** with the deployment key (`TokenCipher`), when the access
token expires, and what HubSpot said about the grant (hub id, app id, scopes). A login's
`state` is kept only as a SHA-256 digest with its tenant and expiry, and is deleted when the
callback uses it: a state works once, for one tenant, until it expires.

Writers take an exclusive lock and replace the file atomically; every read sees a whole file.
Replicas of the API that share `HUBSPOT_DEALS_HOME` share the grants.
"""

import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hubspot_deals.crypto import TokenCipher
from hubspot_deals.source.oauth import OAuthTokens

FILE_NAME = "hubspot_oauth.json"


@dataclass(frozen=True)
class OAuthGrant:
    """One tenant's grant: tokens only as ciphertext."""

    tenant: str
    refresh_token_ciphertext: str
    access_token_ciphertext: str
    access_token_expires_at: float
    hub_id: int | None
    app_id: int | None
    scopes: tuple[str, ...]
    authorized_at: float
    refreshed_at: float


class StateRejected(Exception):
    """A callback's `state` is unknown, already used or expired (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OAuthGrantStore:
    def __init__(
        self, home: Path, cipher: TokenCipher, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = home / FILE_NAME
        self.cipher = cipher
        self.clock = clock
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The file's content, written back when the block ends without an error."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
                data.setdefault("grants", {})
                data.setdefault("states", {})
                before = json.dumps(data, sort_keys=True)
                yield data
                if json.dumps(data, sort_keys=True) != before:
                    tmp = self.path.with_suffix(f".{secrets.token_hex(4)}.tmp")
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as f:
                        json.dump(data, f, indent=1, sort_keys=True)
                    os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    # -- login states ---------------------------------------------------------------------------

    def new_state(self, tenant: str, ttl_seconds: float) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()
        with self._locked() as data:
            # Expired states go when a new one is made: the file never grows without bound.
            data["states"] = {k: v for k, v in data["states"].items() if v["expires_at"] > now}
            data["states"][_digest(state)] = {"tenant": tenant, "expires_at": now + ttl_seconds}
        return state

    def use_state(self, state: str) -> str:
        """The tenant of a valid state, which can then not be used again."""
        with self._locked() as data:
            entry = data["states"].pop(_digest(state), None)
        if entry is None:
            raise StateRejected("invalid_state")
        if entry["expires_at"] <= self.clock():
            raise StateRejected("expired_state")
        return str(entry["tenant"])

    # -- grants ---------------------------------------------------------------------------------

    def save(self, tenant: str, tokens: OAuthTokens, info: dict[str, Any] | None) -> OAuthGrant:
        now = self.clock()
        previous = self.get(tenant)
        grant = OAuthGrant(
            tenant=tenant,
            refresh_token_ciphertext=self.cipher.encrypt(tokens.refresh_token),
            access_token_ciphertext=self.cipher.encrypt(tokens.access_token),
            access_token_expires_at=tokens.expires_at,
            hub_id=(info or {}).get("hub_id", previous.hub_id if previous else None),
            app_id=(info or {}).get("app_id", previous.app_id if previous else None),
            scopes=tuple((info or {}).get("scopes") or (previous.scopes if previous else ())),
            authorized_at=previous.authorized_at if previous and info is None else now,
            refreshed_at=now,
        )
        with self._locked() as data:
            data["grants"][tenant] = {**asdict(grant), "scopes": list(grant.scopes)}
        return grant

    def get(self, tenant: str) -> OAuthGrant | None:
        with self._locked() as data:
            entry = data["grants"].get(tenant)
        if entry is None:
            return None
        return OAuthGrant(**{**entry, "scopes": tuple(entry.get("scopes") or ())})

    def delete(self, tenant: str) -> bool:
        with self._locked() as data:
            return data["grants"].pop(tenant, None) is not None

    def refresh_token(self, grant: OAuthGrant) -> str:
        return self.cipher.decrypt(grant.refresh_token_ciphertext)

    def access_token(self, grant: OAuthGrant) -> str:
        return self.cipher.decrypt(grant.access_token_ciphertext)


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
