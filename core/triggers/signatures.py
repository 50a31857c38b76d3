"""How a signed webhook call proves who sent it and that it is not a replay, per webhook (`signature_scheme`):

- `standard` (Baton's own secrets, https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`
  (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (several,
  space-separated, during a secret's rotation); the key is the base64 after `whsec_`. The timestamp must be
  within the tolerance (5 minutes) and the id is remembered: a second call with it answers the first run.
- `github`: `X-Hub-Signature-256: sha256=<hex HMAC of the body>` with the secret set on the GitHub webhook.
  No timestamp in GitHub's scheme: the signature itself is remembered for a day, so a replay answers the
  first run.
- `stripe`: `Stripe-Signature: t=<timestamp>,v1=<hex HMAC of "{t}.{body}">` with the endpoint's `whsec_...`
  secret, within the tolerance.
- `slack`: `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex HMAC of "v0:{ts}:{body}">` with the
  app's signing secret, within the tolerance.
- `baton-v1` (secrets made before Standard Webhooks, until rotated): `X-Baton-Signature: sha256=<hex HMAC of
  the body>`; the signature is remembered for a day like GitHub's.
- `basic`, `header` and `hmac` take settings the sender chooses (a user, a header, an algorithm...):
  core.triggers.inbound_auth, whose `authenticate` checks a call in any scheme.

No scheme signs the URL, so a signed webhook refuses a query string (the route answers 400): values the
sender did not sign never reach a run. Every comparison is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Literal

# basic, header and hmac take settings a sender chooses: core.triggers.inbound_auth.
Scheme = Literal["standard", "github", "stripe", "slack", "baton-v1", "basic", "header", "hmac"]
SCHEMES: tuple[Scheme, ...] = ("standard", "github", "stripe", "slack", "baton-v1", "basic", "header", "hmac")
STANDARD_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
# The header each scheme's signature travels in (for error messages and the API's answers).
SIGNATURE_HEADERS: dict[str, str] = {
    "standard": "webhook-signature",
    "github": "X-Hub-Signature-256",
    "stripe": "Stripe-Signature",
    "slack": "X-Slack-Signature",
    "baton-v1": "X-Baton-Signature",
}


class SignatureRefused(Exception):
    """The call's signature is missing, wrong or too old: the detail says what a sender must send (naming
    the header, never the expected value); `challenge` is the 401's WWW-Authenticate."""

    def __init__(self, detail: str, challenge: str = "Bearer") -> None:
        super().__init__(detail)
        self.challenge = challenge


def new_standard_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret; ValueError when it is not `whsec_<base64>` (padding is
    optional, as in the reference libraries)."""
    encoded = secret.removeprefix(STANDARD_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is `whsec_` followed by base64") from exc
    if len(key) < 16:
        raise ValueError("a Standard Webhooks secret's key is at least 16 bytes (24 characters of base64)")
    return key


# A sender's secret is the whole of the HMAC key: one anybody could guess (eight spaces, sixteen zero
# bytes, "aaaa...") lets anybody start runs. Real senders issue far more than this (GitHub's documentation
# asks for a random string, Slack's signing secrets are 32 hex digits, Stripe's `whsec_` and 32 characters,
# Standard Webhooks keys 24 to 64 random bytes), so the floor only refuses what no generator makes.
SHORTEST_SENDER_SECRET = 16
FEWEST_DIFFERENT = 6


def check_sender_secret(scheme: str, secret: str) -> None:
    """ValueError, saying what is needed, when `secret` cannot sign in `scheme` or is too weak: under 16
    characters (whitespace and a `whsec_` prefix not counted; for `standard`, 16 bytes of key) or fewer
    than 6 different ones (a basic password and a header token alike). The message never repeats the
    secret."""
    if scheme == "standard":
        key = standard_key(secret)
        if len(set(key)) < FEWEST_DIFFERENT:
            raise ValueError(
                f"a Standard Webhooks secret's key needs at least {FEWEST_DIFFERENT} different byte values: "
                "use the random secret the sender made"
            )
        return
    meaningful = "".join(secret.removeprefix(STANDARD_PREFIX).split())
    if len(meaningful) < SHORTEST_SENDER_SECRET or len(set(meaningful)) < FEWEST_DIFFERENT:
        raise ValueError(
            f"a signing secret needs at least {SHORTEST_SENDER_SECRET} characters besides whitespace and "
            f"`whsec_`, at least {FEWEST_DIFFERENT} of them different: use the random secret the sender "
            "made (for GitHub, set one like `openssl rand -hex 32` prints)"
        )


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value a Standard Webhooks sender computes."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def hex_hmac(secret: str, content: bytes) -> str:
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def verify(
    scheme: str,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> str:
    """Checks a call; answers its replay key (remembered: a second call with it is a replay) or raises
    SignatureRefused. `headers` must look names up case-insensitively (Starlette's do)."""
    if scheme == "standard":
        return _standard(secret, body, headers, now, tolerance)
    if scheme == "github":
        return _body_only(secret, body, headers.get("x-hub-signature-256"), "X-Hub-Signature-256")
    if scheme == "baton-v1":
        return _body_only(secret, body, headers.get("x-baton-signature"), "X-Baton-Signature")
    if scheme == "stripe":
        return _stripe(secret, body, headers.get("stripe-signature"), now, tolerance)
    if scheme == "slack":
        return _slack(secret, body, headers, now, tolerance)
    raise SignatureRefused(f"this webhook's signature scheme {scheme!r} is unknown; set one of {SCHEMES}")


def timestamp_within(raw: str | None, header: str, now: float, tolerance: float) -> int:
    """The Unix time in seconds that `header` carries, or SignatureRefused when it is missing, malformed or
    more than `tolerance` seconds away from now."""
    if not raw or not raw.strip().isdigit():
        raise SignatureRefused(f"missing or malformed {header}: send the Unix time in seconds")
    stamp = int(raw.strip())
    if abs(now - stamp) > tolerance:
        raise SignatureRefused(
            f"{header} is {int(abs(now - stamp))} s away from now; calls are accepted within "
            f"{int(tolerance)} s (a replay, or the sender's clock is off)"
        )
    return stamp


def _standard(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: float) -> str:
    message_id = headers.get("webhook-id")
    if not message_id or len(message_id) > 256:
        raise SignatureRefused("missing webhook-id: send the message id (Standard Webhooks)")
    stamp = timestamp_within(headers.get("webhook-timestamp"), "webhook-timestamp", now, tolerance)
    expected = sign_standard(secret, message_id, stamp, body).encode()
    offered = (headers.get("webhook-signature") or "").split()
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
        raise SignatureRefused(
            "missing or wrong webhook-signature: send v1,<base64 HMAC-SHA256 of "
            '"{webhook-id}.{webhook-timestamp}.{raw body}", keyed with the base64-decoded secret after '
            "whsec_>"
        )
    return "id:" + message_id


def _body_only(secret: str, body: bytes, offered: str | None, header: str) -> str:
    expected = ("sha256=" + hex_hmac(secret, body)).encode()
    if not offered or not hmac.compare_digest(expected, offered.strip().encode()):
        raise SignatureRefused(
            f"missing or wrong {header}: send sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>"
        )
    return "sig:" + offered.strip()


def _stripe(secret: str, body: bytes, header: str | None, now: float, tolerance: float) -> str:
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    stamp = timestamp_within((parts.get("t") or [""])[0], "Stripe-Signature's t", now, tolerance)
    expected = hex_hmac(secret, f"{stamp}.".encode() + body).encode()
    signatures = parts.get("v1", [])
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures):
        raise SignatureRefused(
            'missing or wrong Stripe-Signature: send t=<timestamp>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">'
        )
    return "sig:" + expected.decode()


def _slack(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: float) -> str:
    raw = headers.get("x-slack-request-timestamp")
    stamp = timestamp_within(raw, "X-Slack-Request-Timestamp", now, tolerance)
    expected = ("v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)).encode()
    offered = (headers.get("x-slack-signature") or "").strip().encode()
    if not hmac.compare_digest(expected, offered):
        raise SignatureRefused(
            'missing or wrong X-Slack-Signature: send v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">'
        )
    return "sig:" + expected.decode()
