"""Signed links' tokens, one format for all of them (approval links in core.runs.approval_links, resume
URLs in core.runs.resume_links): `payload.signature`, both unpadded base64url (one spelling per value), the
HMAC keyed by the link's purpose and the installation's secret; and the seal of the stand-in a run keeps
instead of a real link."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import timedelta

LONGEST_LINK = timedelta(days=30)  # a link without a deadline of its own still expires
LINK_PURPOSE = b"baton approval link v1"
STAND_IN_PURPOSE = b"baton approval link stand-in v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Unpadded base64url, nothing else: the lenient decoder skips stray characters and stops at padding, so a
# valid link with anything appended (markup included) would still read as valid.
B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    if B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    padded = (text + "=" * (-len(text) % 4)).translate(str.maketrans("-_", "+/"))
    raw = binascii.a2b_base64(padded, strict_mode=True)
    if _b64(raw) != text:  # the unused low bits of the last character must be zero: one spelling per value
        raise ValueError("not canonical base64url")
    return raw


def _mac(secret: str, payload: bytes, purpose: bytes = LINK_PURPOSE) -> bytes:
    key = hashlib.sha256(purpose + secret.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def sealed(secret: str, payload: bytes, purpose: bytes = LINK_PURPOSE) -> str:
    """`payload.signature`, both unpadded base64url, the HMAC keyed by `purpose` and the secret: the token
    of a signed link (approval links here, resume URLs in core.runs.resume_links)."""
    return f"{_b64(payload)}.{_b64(_mac(secret, payload, purpose))}"


def unsealed(secret: str, token: str, purpose: bytes = LINK_PURPOSE) -> bytes:
    """The payload of a `sealed` token; ValueError when it is damaged or its signature is not ours."""
    encoded, dot, signature = token.partition(".")
    if not dot:
        raise ValueError("no signature")
    payload = _unb64(encoded)
    if not hmac.compare_digest(_unb64(signature), _mac(secret, payload, purpose)):
        raise ValueError("bad signature")
    return payload


def _stand_in_seal(secret: str, execution_id: str, text: str) -> str:
    key = hashlib.sha256(STAND_IN_PURPOSE + secret.encode()).digest()
    return _b64(hmac.new(key, f"{execution_id}|{text}".encode(), hashlib.sha256).digest()[:16])
