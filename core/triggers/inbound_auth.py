"""Inbound auth a sender sets up itself, beside the fixed schemes of core.triggers.signatures:

- `basic`: `Authorization: Basic base64(user:password)`; the user is configured, the password is the secret.
  Nothing in the call changes from one call to the next, so no replay defence is possible beyond TLS; an
  `Idempotency-Key` still makes a retried call answer the first run.
- `header`: a named header (`X-Api-Key: <secret>`, or `Authorization: Bearer <secret>` with the prefix
  `Bearer `) carries the secret itself; no replay defence either. The header is kept out of the run's
  trigger data, since it is the credential.
- `hmac`: a generic HMAC signature (Shopify's `X-Shopify-Hmac-Sha256`, and most senders' own): the header
  it travels in, the algorithm (sha1, sha256, sha512), the encoding (hex, base64), a prefix (`sha256=`) and
  what is signed: `body`, or a template such as `{timestamp}.{body}` with the header the timestamp travels
  in. Replays as for the fixed schemes: with a timestamp, it must be within the tolerance and the signature
  is remembered; without one, the signature is remembered 24 h (as GitHub's).

The secret and the scheme's settings are sealed together as one JSON document in the webhook's `secret`
column (`seal_document`), so the settings need no column of their own. Every comparison is constant-time
(`hmac.compare_digest`, the standard library's), both parts of a basic credential always compared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from core.triggers.signatures import SignatureRefused, timestamp_within, verify

SenderScheme = Literal["basic", "header", "hmac"]
SENDER_SCHEMES: tuple[SenderScheme, ...] = ("basic", "header", "hmac")
Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64"]
# An HTTP header name is a token (RFC 9110 5.1).
HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$"
# Headers that describe the message or the connection, which proxies and clients set: never a credential.
NOT_A_CREDENTIAL = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "cookie",
    }
)
PLACEHOLDER = re.compile(r"(\{body\}|\{timestamp\})")
# Which settings each scheme takes; any other one is a mistake worth a 422, not a silently ignored field.
SETTINGS_OF: dict[SenderScheme, frozenset[str]] = {
    "basic": frozenset({"username"}),
    "header": frozenset({"header", "prefix"}),
    "hmac": frozenset(
        {"header", "prefix", "algorithm", "encoding", "signed", "timestamp_header", "tolerance_seconds"}
    ),
}
REQUIRED_OF: dict[SenderScheme, frozenset[str]] = {
    "basic": frozenset({"username"}),
    "header": frozenset({"header"}),
    "hmac": frozenset({"header"}),
}


class BadAuthSettings(ValueError):
    """A scheme's settings are wrong; `field` names the one (camelCase, as the API spells it)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class SenderAuth(BaseModel):
    """The settings of a `basic`, `header` or `hmac` webhook (which ones apply: SETTINGS_OF)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    username: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^:\x00-\x1f\x7f]+$")
    header: str | None = Field(default=None, pattern=HEADER_NAME)
    prefix: str = Field(default="", max_length=64, pattern=r"^[\x20-\x7e]*$")
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    signed: str = Field(default="body", min_length=1, max_length=200)
    timestamp_header: str | None = Field(default=None, pattern=HEADER_NAME)
    tolerance_seconds: int | None = Field(default=None, ge=1, le=3600)


def sender_auth(scheme: SenderScheme, given: Mapping[str, Any]) -> SenderAuth:
    """The settings of `scheme` from `given` (snake_case names; None means not given), or BadAuthSettings
    naming the field that is wrong, missing or not one this scheme takes."""
    present = {name: value for name, value in given.items() if value is not None}
    for name in present:
        if name not in SETTINGS_OF[scheme]:
            raise BadAuthSettings(
                to_camel(name), f"`{to_camel(name)}` is not a setting of the {scheme} scheme"
            )
    for name in sorted(REQUIRED_OF[scheme] - present.keys()):
        raise BadAuthSettings(to_camel(name), f"the {scheme} scheme needs `{to_camel(name)}`")
    try:
        auth = SenderAuth.model_validate(present)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = to_camel(str(first["loc"][0])) if first["loc"] else "scheme"
        raise BadAuthSettings(field, f"`{field}`: {first['msg']}") from None
    for name in ("header", "timestamp_header"):
        value = getattr(auth, name)
        if value is not None and value.lower() in NOT_A_CREDENTIAL:
            raise BadAuthSettings(
                to_camel(name), f"{value} describes the message, it cannot carry a credential"
            )
    if scheme == "hmac":
        _check_template(auth)
    return auth


def _check_template(auth: SenderAuth) -> None:
    template = "{body}" if auth.signed == "body" else auth.signed
    parts = PLACEHOLDER.split(template)
    literal = "".join(parts[0::2])
    if "{" in literal or "}" in literal:
        raise BadAuthSettings(
            "signed", "`signed` is `body` or a template whose only placeholders are {body} and {timestamp}"
        )
    if parts[1::2].count("{body}") != 1:
        raise BadAuthSettings("signed", "`signed` must contain {body} once")
    with_time = "{timestamp}" in parts[1::2]
    if with_time and auth.timestamp_header is None:
        raise BadAuthSettings("timestampHeader", "`signed` uses {timestamp}: say which header carries it")
    if auth.timestamp_header is not None and not with_time:
        raise BadAuthSettings("signed", "with `timestampHeader`, `signed` must contain {timestamp}")
    if auth.tolerance_seconds is not None and auth.timestamp_header is None:
        raise BadAuthSettings("toleranceSeconds", "`toleranceSeconds` applies only with `timestampHeader`")


def credential_header(scheme: str, auth: SenderAuth) -> str:
    """The header a sender's call must carry (for the API's answers)."""
    return "Authorization" if scheme == "basic" else str(auth.header)


def signs_content(scheme: str) -> bool:
    """Whether the scheme's credential is a signature over the body: then nothing outside it (a query
    string) is vouched for. A basic or header credential vouches for the caller, query string included."""
    return scheme not in ("basic", "header")


def seal_document(secret: str, auth: SenderAuth) -> str:
    """What is sealed in the webhook's `secret` column: the secret with its scheme's settings."""
    return json.dumps({"secret": secret, "auth": auth.model_dump(by_alias=True, exclude_defaults=True)})


def open_document(document: str) -> tuple[str, SenderAuth]:
    data = json.loads(document)
    return str(data["secret"]), SenderAuth.model_validate(data["auth"])


def hidden_header(scheme: str, document: str) -> str | None:
    """The header whose value is the secret itself (`header` scheme), to keep out of the run's data."""
    if scheme != "header":
        return None
    return open_document(document)[1].header


def authenticate(
    scheme: str,
    stored: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: float,
) -> str | None:
    """Checks a call in any scheme (`stored`: the opened secret column); answers its replay key (None for
    basic and header: nothing in them is unique to a call) or raises SignatureRefused. `headers` look
    names up case-insensitively."""
    if scheme not in SENDER_SCHEMES:
        return verify(scheme, stored, body, headers, now, tolerance)
    secret, auth = open_document(stored)
    if scheme == "basic":
        _basic(secret, auth, headers.get("authorization"))
        return None
    if scheme == "header":
        _header(secret, auth, headers.get(str(auth.header)))
        return None
    return _hmac(secret, auth, body, headers, now, tolerance)


def _basic(password: str, auth: SenderAuth, offered: str | None) -> None:
    refused = SignatureRefused(
        "missing or wrong Authorization: send Basic base64(user:password) with the webhook's user and "
        "password",
        challenge='Basic realm="webhook", charset="UTF-8"',
    )
    kind, _, encoded = (offered or "").strip().partition(" ")
    if kind.lower() != "basic":
        raise refused
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise refused from None
    user, colon, given = decoded.partition(b":")
    # Both parts are always compared, so the time taken says nothing about which one was wrong.
    user_ok = hmac.compare_digest(user, str(auth.username).encode())
    password_ok = hmac.compare_digest(given, password.encode())
    if not (colon and user_ok & password_ok):
        raise refused


def _header(secret: str, auth: SenderAuth, offered: str | None) -> None:
    expected = (auth.prefix + secret).encode()
    if offered is None or not hmac.compare_digest(offered.strip().encode(), expected):
        how = f"{auth.prefix}<the webhook's secret>" if auth.prefix else "the webhook's secret"
        raise SignatureRefused(f"missing or wrong {auth.header}: send {how}")


def sign_hmac(secret: str, auth: SenderAuth, body: bytes, timestamp: str | None = None) -> str:
    """The header value a sender computes in these settings (prefix included)."""
    template = "{body}" if auth.signed == "body" else auth.signed
    content = b"".join(
        body if part == "{body}" else (timestamp or "" if part == "{timestamp}" else part).encode()
        for part in PLACEHOLDER.split(template)
    )
    digest = hmac.new(secret.encode(), content, getattr(hashlib, auth.algorithm)).digest()
    encoded = digest.hex() if auth.encoding == "hex" else base64.b64encode(digest).decode()
    return auth.prefix + encoded


def _hmac(
    secret: str, auth: SenderAuth, body: bytes, headers: Mapping[str, str], now: float, tolerance: float
) -> str:
    stamp: str | None = None
    if auth.timestamp_header is not None:
        limit = auth.tolerance_seconds or tolerance
        stamp = str(timestamp_within(headers.get(auth.timestamp_header), auth.timestamp_header, now, limit))
    expected = sign_hmac(secret, auth, body, stamp)
    offered = (headers.get(str(auth.header)) or "").strip()
    if auth.encoding == "hex":  # hex digits in either case are the same signature
        offered = offered[: len(auth.prefix)] + offered[len(auth.prefix) :].lower()
    if not hmac.compare_digest(expected.encode(), offered.encode()):
        signed = "the raw body" if auth.signed == "body" else f'"{auth.signed}" (the raw body for {{body}})'
        raise SignatureRefused(
            f"missing or wrong {auth.header}: send {auth.prefix}<{auth.encoding} HMAC-"
            f"{auth.algorithm.upper()} of {signed}, keyed with the webhook's secret>"
        )
    return "sig:" + expected
