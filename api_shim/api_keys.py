"""API keys: stored hashed in one JSON file, with their scopes and tenants.

A key is `hsd_<key id>_<secret>` (the secret: 32 random bytes). The file keeps the key id, a
SHA-256 digest of the whole key (a random 256-bit secret needs no slow hash: there is nothing
to guess), scopes, tenants and when it was created or revoked; never the key itself.

The shim re-reads the file whenever its modification time, size or inode changes (one `stat`
per request), so a key created or revoked with `hubspot-deals api keys ...` counts at once in a
running shim. Writers take an exclusive lock and replace the file atomically, so readers never
see half a file.
"""

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCOPES = (
    *("scans.read", "scans.write", "deals.read", "contacts.read", "contacts.write"),
    "properties.write",
)
KEY_PREFIX = "hsd"
_KEY = re.compile(r"^hsd_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
TENANT_PATTERN = re.compile(r"^[!-~]{1,255}$")  # printable, no spaces: organization ids
FILE_VERSION = 1


class ApiKeyError(ValueError):
    """A key cannot be created, found or revoked as asked."""


@dataclass(frozen=True)
class ApiKey:
    """One stored key (its digest, never the key)."""

    key_id: str
    name: str
    digest: str
    scopes: tuple[str, ...]
    tenants: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        data["tenants"] = list(self.tenants)
        return data

    def public(self) -> dict[str, Any]:
        """The record without its digest, for listings."""
        return {k: v for k, v in self.to_json().items() if k != "digest"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ApiKey":
        return cls(
            key_id=str(data["key_id"]),
            name=str(data.get("name") or ""),
            digest=str(data["digest"]),
            scopes=tuple(data.get("scopes") or ()),
            tenants=tuple(data.get("tenants") or ()),
            created_at=str(data.get("created_at") or ""),
            revoked_at=data.get("revoked_at"),
        )


@dataclass(frozen=True)
class KeyRing:
    """The file's content as of one read."""

    keys: tuple[ApiKey, ...] = ()
    by_id: dict[str, ApiKey] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Sequence[ApiKey]) -> "KeyRing":
        return cls(tuple(keys), {k.key_id: k for k in keys})


def digest_of(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class ApiKeyStore:
    """The key file: read with a stat-checked cache, written under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._ring = KeyRing()

    # -- reading -------------------------------------------------------------------------------

    def ring(self) -> KeyRing:
        """The keys as the file holds them now (re-read only when the file changed)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            with self._lock:
                self._signature, self._ring = None, KeyRing()
            return self._ring
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if signature == self._signature:
                return self._ring
        ring = KeyRing.of(self._read())
        with self._lock:
            self._signature, self._ring = signature, ring
        return ring

    def _read(self) -> list[ApiKey]:
        try:
            data = json.loads(self.path.read_text())
            return [ApiKey.from_json(entry) for entry in data.get("keys") or []]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A damaged file must not open the API: callers treat this as "keys required".
            raise ApiKeyError(f"API key file {self.path} cannot be read: {exc}") from None

    def has_keys(self) -> bool:
        """Whether any key was ever created (revoked ones count: revoking every key must not
        open the API)."""
        return bool(self.ring().keys)

    def verify(self, key: str) -> ApiKey | None:
        """The active key `key` is, or None (unknown, malformed or revoked)."""
        match = _KEY.match(key)
        if not match:
            return None
        stored = self.ring().by_id.get(match[1])
        if stored is None or not stored.active:
            return None
        return stored if hmac.compare_digest(stored.digest, digest_of(key)) else None

    def records(self) -> list[ApiKey]:
        return list(self._read()) if self.path.exists() else []

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[list[ApiKey]]:
        """The keys for an update, under an exclusive lock; written back when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = self._read() if self.path.exists() else []
            yield keys
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(
                    {"version": FILE_VERSION, "keys": [k.to_json() for k in keys]}, out, indent=2
                )
                out.write("\n")
            os.replace(tmp, self.path)

    def create(
        self, name: str, scopes: Sequence[str], tenants: Sequence[str]
    ) -> tuple[str, ApiKey]:
        """A new key: returns the key (shown once, never stored) and its stored record."""
        scopes = tuple(dict.fromkeys(scopes))
        tenants = tuple(dict.fromkeys(tenants))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ApiKeyError(
                f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}"
            )
        if not tenants:
            raise ApiKeyError("a key needs at least one tenant (organization id)")
        bad = [t for t in tenants if not TENANT_PATTERN.match(t)]
        if bad:
            raise ApiKeyError(
                f"tenant ids are 1-255 printable characters without spaces: {bad[0]!r}"
            )
        with self._locked() as keys:
            taken = {k.key_id for k in keys}
            key_id = secrets.token_hex(6)
            while key_id in taken:
                key_id = secrets.token_hex(6)
            key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(key_id, name, digest_of(key), scopes, tenants, _now())
            keys.append(record)
        return key, record

    def revoke(self, key_id: str) -> ApiKey:
        with self._locked() as keys:
            for i, stored in enumerate(keys):
                if stored.key_id == key_id:
                    if not stored.active:
                        raise ApiKeyError(f"key {key_id} was revoked at {stored.revoked_at}")
                    keys[i] = ApiKey(**{**asdict(stored), "revoked_at": _now()})
                    return keys[i]
            raise ApiKeyError(f"no key with id {key_id!r}")


def key_store(api_keys_file: Path | None, home: Path) -> ApiKeyStore:
    """The key file the shim and the key commands share: HUBSPOT_DEALS_API_API_KEYS_FILE, or
    `api_keys.json` under HUBSPOT_DEALS_HOME."""
    return ApiKeyStore(api_keys_file or home / "api_keys.json")
