"""Passwords (argon2id via argon2-cffi), signed tokens (JWT via PyJWT, HS256) and API key secrets.

Well-kept libraries for solved problems: argon2-cffi's defaults follow RFC 9106; PyJWT checks expiry and
the token type we put in `typ`. API keys are random (32 bytes), so a SHA-256 of the key is enough to store:
the `api_keys.key` column holds `{prefix}${sha256}`, never the key.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.crypto import derive_key
from core.settings import Settings

TokenType = Literal["access", "refresh", "verify", "session"]
API_KEY_PREFIX = "bat_"
_hasher = PasswordHasher()
# A hash of a random password, verified when the email is unknown so both paths take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class InvalidToken(Exception):
    """Expired, tampered, or of the wrong type."""


@dataclass(frozen=True)
class TokenLifetimes:
    access: timedelta = timedelta(minutes=15)
    refresh: timedelta = timedelta(days=30)
    verify: timedelta = timedelta(days=2)
    # the console's cookie (core.console_sessions): a working day, then sign in again
    session: timedelta = timedelta(hours=12)


class TokenSigner:
    def __init__(self, settings: Settings, lifetimes: TokenLifetimes | None = None) -> None:
        self._key = derive_key(settings.secret_key, b"baton/jwt/v1").decode()
        self.lifetimes = lifetimes or TokenLifetimes()

    def issue(self, subject: str, kind: TokenType) -> tuple[str, dict[str, Any]]:
        now = datetime.now(UTC)
        claims = {
            "sub": subject,
            "typ": kind,
            "iat": now,
            "exp": now + getattr(self.lifetimes, kind),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="HS256"), claims

    def read(self, token: str, kind: TokenType) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp", "sub", "typ", "jti"]}
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("typ") != kind:
            raise InvalidToken(f"expected a {kind} token")
        return claims


def new_api_key() -> tuple[str, str]:
    """(the key to show once, the value stored in `api_keys.key`)."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, stored_api_key(key)


def stored_api_key(key: str) -> str:
    """What `api_keys.key` holds for a presented key: its visible prefix and the SHA-256 of the key."""
    prefix = key[len(API_KEY_PREFIX) :].split("_", 1)[0] if key.startswith(API_KEY_PREFIX) else ""
    return f"{prefix}${hashlib.sha256(key.encode()).hexdigest()}"


def visible_prefix(stored: str) -> str:
    return f"{API_KEY_PREFIX}{stored.split('$', 1)[0]}"
