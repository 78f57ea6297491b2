"""Encryption of HubSpot tokens at rest (run config, storage) with Fernet."""

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hubspot_deals.settings import Settings, get_settings


class TokenDecryptionError(Exception):
    """A stored token cannot be decrypted with the configured key."""


class EncryptionKeyError(ValueError):
    """The configured key is no Fernet key."""


def _load_or_create_key(settings: Settings) -> bytes:
    if settings.encryption_key is not None:
        return settings.encryption_key.get_secret_value().encode()
    key_file = settings.home / "encryption.key"
    if key_file.exists():
        return key_file.read_bytes().strip()
    settings.home.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Path(key_file).read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class TokenCipher:
    """Encrypts tokens for run config and decrypts them inside the run."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise EncryptionKeyError(
                "HUBSPOT_DEALS_ENCRYPTION_KEY (or <HUBSPOT_DEALS_HOME>/encryption.key) is not a "
                "Fernet key: 32 url-safe base64-encoded bytes, as Fernet.generate_key() makes"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "TokenCipher":
        return cls(_load_or_create_key(settings or get_settings()))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise TokenDecryptionError(
                "the scan's access token cannot be decrypted with this deployment's key "
                "(HUBSPOT_DEALS_ENCRYPTION_KEY differs between the API and the code location?)"
            ) from exc
