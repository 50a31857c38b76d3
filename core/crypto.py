"""Encryption of secrets at rest (connection credentials), with the `cryptography` package's Fernet
(AES-128-CBC + HMAC-SHA256, authenticated, versioned tokens): a well-kept recipe, not a hand-rolled one.

Keys are derived with HKDF-SHA256 from ENCRYPTION_KEY (or SECRET_KEY when unset) so one secret in the
environment yields separate keys per purpose. Rotation: ENCRYPTION_KEY may list several secrets separated
by commas; the first encrypts, all decrypt (Fernet's MultiFernet), and `baton rotate-keys` re-encrypts
every stored credential with the first so the old ones can then be removed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings

CREDENTIALS_PURPOSE = b"baton/connection-credentials/v1"


class DecryptionError(Exception):
    """Ciphertext that this key cannot open (another key, or tampered data)."""


def derive_raw_key(secret: str, purpose: bytes) -> bytes:
    """32 bytes for one purpose (HKDF-SHA256): each purpose's key says nothing about another's."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


def derive_key(secret: str, purpose: bytes) -> bytes:
    """A Fernet key (URL-safe base64) for one purpose."""
    return base64.urlsafe_b64encode(derive_raw_key(secret, purpose))


class CredentialCipher:
    """Turns a credentials dict into the JSON stored in `connections.credentials`, and back."""

    def __init__(self, secret: str) -> None:
        secrets = [s.strip() for s in secret.split(",") if s.strip()]
        if not secrets:
            raise ValueError("an encryption key is empty")
        self._fernet = MultiFernet([Fernet(derive_key(s, CREDENTIALS_PURPOSE)) for s in secrets])

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialCipher:
        return cls(settings.encryption_key or settings.secret_key)

    def seal_text(self, value: str) -> str:
        """A single secret for a text column (the seed's `accessToken`/`refreshToken`)."""
        return self._fernet.encrypt(value.encode()).decode()

    def open_text(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError("stored token cannot be decrypted with the configured key") from exc

    def rotate(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The same credentials sealed with the first (current) key."""
        try:
            token = self._fernet.rotate(str(stored["ciphertext"]).encode())
        except (KeyError, InvalidToken) as exc:
            raise DecryptionError("stored credentials cannot be decrypted with any configured key") from exc
        return {"v": 1, "ciphertext": token.decode()}

    def seal(self, credentials: dict[str, Any]) -> dict[str, Any]:
        token = self._fernet.encrypt(json.dumps(credentials, separators=(",", ":")).encode())
        return {"v": 1, "ciphertext": token.decode()}

    def open(self, stored: dict[str, Any]) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(str(stored["ciphertext"]).encode())
        except (KeyError, InvalidToken) as exc:
            raise DecryptionError("stored credentials cannot be decrypted with the configured key") from exc
        value: dict[str, Any] = json.loads(plain)
        return value
