"""Signed approval links: a pair of URLs (approve, reject) an approval step can send through any action
(Slack, email, HTTP), so someone without a Baton login decides from the message itself.

A link is `{PUBLIC_URL}/api/v1/approval-links/{token}`: the token names the execution, the step, the
decision and an expiry, sealed with an HMAC of SECRET_KEY (so nobody forges one, and rotating the key voids
them all). GET shows a page with the approval's message and two buttons; POST decides. A link works once:
the first decision through either link of the pair (or through the API) voids both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import NotFound

LINK_PURPOSE = b"baton approval link v1"
LONGEST_LINK = timedelta(days=30)  # an approval without a deadline: its links still expire
LINK_PATH = "/api/v1/approval-links/"


class InvalidLink(NotFound):
    """Not a link Baton made, or one that expired: the page says so (404: nothing to tell a stranger)."""


@dataclass(frozen=True)
class ApprovalLink:
    execution_id: str
    step_id: str
    approved: bool
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    key = hashlib.sha256(LINK_PURPOSE + secret.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def link_token(secret: str, link: ApprovalLink) -> str:
    payload = "|".join(
        [
            link.execution_id,
            link.step_id,
            "a" if link.approved else "r",
            str(int(link.expires_at.timestamp())),
        ]
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_link(secret: str, token: str, now: datetime | None = None) -> ApprovalLink:
    """The link a token stands for; InvalidLink when it is forged, damaged or expired."""
    try:
        encoded, _, signature = token.partition(".")
        payload = _unb64(encoded)
        if not hmac.compare_digest(_unb64(signature), _mac(secret, payload)):
            raise ValueError("bad signature")
        execution_id, step_id, decision, expires = payload.decode().split("|")
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidLink("this approval link is not valid") from exc
    if decision not in ("a", "r"):
        raise InvalidLink("this approval link is not valid")
    if (now or datetime.now(UTC)) >= expires_at:
        raise InvalidLink("this approval link has expired")
    return ApprovalLink(execution_id, step_id, decision == "a", expires_at)


def link_pair(
    secret: str, base_url: str, execution_id: str, step_id: str, expires_at: datetime | None
) -> tuple[str, str, datetime]:
    """(approve URL, reject URL, when they expire): at the approval's deadline, at most LONGEST_LINK."""
    longest = datetime.now(UTC) + LONGEST_LINK
    until = min(expires_at, longest) if expires_at is not None else longest
    tokens = [link_token(secret, ApprovalLink(execution_id, step_id, ok, until)) for ok in (True, False)]
    urls = [f"{base_url.rstrip('/')}{LINK_PATH}{token}" for token in tokens]
    return urls[0], urls[1], until


def sibling(secret: str, link: ApprovalLink) -> str:
    """The token of the pair's other decision (the page offers both)."""
    return link_token(
        secret, ApprovalLink(link.execution_id, link.step_id, not link.approved, link.expires_at)
    )
