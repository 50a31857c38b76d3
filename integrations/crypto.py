"""Crypto: sign a JWT with a key held in a connection, never in the definition or the run's data.

Signing is an action rather than an expression filter because the key must stay where credentials stay:
sealed in the connection, opened only in the worker's activity, redacted from logs. Encoding, hashing and
HMAC of data are expression filters (core/expressions/encoding.py). Tokens are made by PyJWT with its
minimum key lengths enforced (RFC 7518 section 3.2 for HMAC, 2048 bits for RSA).
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import BaseModel, Field, ValidationError, model_validator

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration

crypto = Integration(
    id="crypto",
    name="Crypto",
    description="Sign JSON Web Tokens with a key kept in a connection",
    icon="/static/icons/crypto.svg",
    category="developer",
    auth_type=AuthType.API_KEY,
    docs_url="https://www.rfc-editor.org/rfc/rfc7519",
)

crypto.example = """
Services that authenticate with a short-lived JWT (a GitHub App, Google service accounts, Apple, Zoom, your
own APIs) get a fresh token per run. The connection holds the key: `{"secret": "..."}` for HS256/384/512, or
`{"privateKey": "-----BEGIN PRIVATE KEY-----..."}` (PEM, RSA of 2048 bits or more for RS256, P-256 for
ES256), optionally with the `keyId` the service knows it by (sent as the `kid` header). The key never appears
in the definition, the run's data or its logs; the token is the step's output, which later steps read
(logs show it as `[redacted]`):

```json
[{"id": "sign", "type": "action", "action": "crypto.jwt_sign", "connectionId": "<connection id>",
  "input": {"algorithm": "RS256", "claims": {"iss": "123456", "sub": "{{ trigger.body.user }}"},
            "expiresIn": 600}},
 {"id": "call", "type": "action", "action": "http.request",
  "input": {"url": "https://api.example.com/me",
            "headers": {"Authorization": "Bearer {{ steps.sign.output.token }}"}}}]
```

`expiresIn` adds `iat` (now) and `exp` (now + the seconds) to the claims. A key too short for the
algorithm, or of the wrong kind (an RSA key for ES256), fails the step saying so, without retrying.
"""

ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "ES256")
SHORTEST_SECRET_BYTES = 32  # HS256's; HS384 and HS512 need 48 and 64 (checked when signing)


class JwtKey(BaseModel):
    """What a `crypto` connection holds (encrypted at rest): one signing key."""

    secret: str | None = Field(
        default=None, description="The shared secret of HS256/HS384/HS512 (at least 32, 48, 64 bytes)"
    )
    secretEncoding: Literal["text", "base64", "hex"] = Field(  # noqa: N815
        default="text", description="How `secret` is written: as is (UTF-8), base64 or hex"
    )
    privateKey: str | None = Field(  # noqa: N815
        default=None, description="PEM private key: RSA (2048 bits or more) for RS256, P-256 for ES256"
    )
    keyId: str | None = Field(  # noqa: N815
        default=None, description="Sent as the token's `kid` header, unless the step's header sets one"
    )

    @model_validator(mode="after")
    def one_usable_key(self) -> JwtKey:
        if (self.secret is None) == (self.privateKey is None):
            raise ValueError("give either `secret` (HS256/384/512) or `privateKey` (RS256, ES256)")
        if self.secret is not None and len(secret_bytes(self)) < SHORTEST_SECRET_BYTES:
            raise ValueError(f"the secret must be at least {SHORTEST_SECRET_BYTES} bytes (RFC 7518 3.2)")
        if self.privateKey is not None:
            private_key(self.privateKey)
        return self


def secret_bytes(key: JwtKey) -> bytes:
    text = key.secret or ""
    try:
        if key.secretEncoding == "base64":  # either alphabet, padded or not
            standard = text.replace("-", "+").replace("_", "/")
            return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        if key.secretEncoding == "hex":
            return bytes.fromhex(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the secret is not {key.secretEncoding}") from exc
    return text.encode()


def private_key(pem: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """The PEM key loaded, refused with a reason (its kind, its size) rather than at the first signing."""
    try:
        loaded = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        # The loader's message never quotes the key.
        raise ValueError(f"privateKey is not an unencrypted PEM private key ({exc})") from None
    if isinstance(loaded, rsa.RSAPrivateKey):
        if loaded.key_size < 2048:
            raise ValueError(f"the RSA key has {loaded.key_size} bits; RS256 needs at least 2048")
        return loaded
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        if not isinstance(loaded.curve, ec.SECP256R1):
            raise ValueError(f"the EC key is on {loaded.curve.name}; ES256 needs P-256 (secp256r1)")
        return loaded
    raise ValueError(f"privateKey is a {type(loaded).__name__}; RS256 needs RSA, ES256 an EC P-256 key")


crypto.credentials_model = JwtKey


class JwtSignInput(BaseModel):
    claims: dict[str, Any] = Field(
        default_factory=dict, description="The token's claims (iss, sub, aud, any other), as an object"
    )
    header: dict[str, Any] = Field(
        default_factory=dict, description="Header fields besides `alg` and `typ` (`kid`, `cty`...)"
    )
    algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256"] = "HS256"
    expires_in: int | None = Field(
        default=None,
        alias="expiresIn",
        gt=0,
        le=366 * 86400,
        description="Seconds the token is valid: adds `iat` (now) and `exp` to the claims",
    )


class JwtSignOutput(BaseModel):
    token: str = Field(description="The signed token (compact serialisation)")
    expiresAt: str | None = Field(  # noqa: N815
        default=None, description="When it expires (ISO 8601), with `expiresIn`"
    )


def invalid(message: str) -> ActionError:
    return ActionError(message, type="InvalidInput", retryable=False)


def signing_key(credentials: dict[str, Any], algorithm: str) -> tuple[Any, str | None]:
    """The connection's key for `algorithm` and its key id; refuses a key of the wrong kind."""
    if not credentials:
        raise invalid("crypto.jwt_sign needs a connection that holds the signing key (connectionId)")
    try:
        key = JwtKey.model_validate(credentials)
    except ValidationError as exc:  # its text would quote the credentials: only the reason is said
        reason = exc.errors(include_url=False, include_input=False)[0]["msg"]
        raise ActionError(
            f"the connection does not hold a usable signing key: {reason}",
            type="InvalidCredentials",
            retryable=False,
        ) from None
    if algorithm.startswith("HS"):
        if key.secret is None:
            raise invalid(f"{algorithm} signs with a shared secret; the connection holds a private key")
        return secret_bytes(key), key.keyId
    if key.privateKey is None:
        raise invalid(f"{algorithm} signs with a private key; the connection holds a shared secret")
    loaded = private_key(key.privateKey)
    wanted = rsa.RSAPrivateKey if algorithm == "RS256" else ec.EllipticCurvePrivateKey
    if not isinstance(loaded, wanted):
        kind = "an RSA" if algorithm == "RS256" else "an EC P-256"
        raise invalid(f"{algorithm} needs {kind} private key; the connection holds another kind")
    return loaded, key.keyId


@crypto.action(
    "jwt_sign",
    name="Sign a JWT",
    description="Sign a JSON Web Token (HS256/384/512, RS256, ES256) with the connection's key",
    side_effects=False,
)
async def jwt_sign(data: JwtSignInput, ctx: ActionContext) -> JwtSignOutput:
    key, key_id = signing_key(ctx.credentials, data.algorithm)
    if "alg" in data.header:
        raise invalid("header.alg is set by `algorithm`")
    claims = dict(data.claims)
    expires_at = None
    if data.expires_in is not None:
        now = int(time.time())
        claims.setdefault("iat", now)
        claims["exp"] = now + data.expires_in
        expires_at = datetime.fromtimestamp(claims["exp"], UTC).isoformat().replace("+00:00", "Z")
    header = {**({"kid": key_id} if key_id else {}), **data.header}
    try:
        token = jwt.PyJWT({"enforce_minimum_key_length": True}).encode(
            claims, key, algorithm=data.algorithm, headers=header or None
        )
    except jwt.InvalidKeyError as exc:
        raise invalid(f"the connection's key cannot sign {data.algorithm}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise invalid(f"the claims or header cannot be put in a token: {exc}") from None
    return JwtSignOutput(token=token, expiresAt=expires_at)
