"""Signed approval links: a pair of URLs (approve, reject) an approval step can send through any action
(Slack, email, HTTP), so someone without a Baton login decides from the message itself.

A link is `{PUBLIC_URL}/api/v1/approval-links/{token}`: the token names the execution, the step, the
decision and an expiry, sealed with an HMAC of SECRET_KEY (so nobody forges one, and rotating the key voids
them all). GET shows a page with the approval's message and two buttons; POST decides. A link works once:
the first decision through either link of the pair (or through the API) voids both.

A link decides for whoever holds it, so it goes only where the approver reads it: the run itself holds a
stand-in (`approval-link.approve.<step>.<expiry>.<seal>`; `<step>-<call>` for an agent step's tool call, each
call its own pair), sealed to the run so no trigger payload can
forge one), which is what step outputs, rows, logs and live views show; an action swaps the stand-in for
the link in what it sends (`RunLinks.reveal`) and back in what it answers (`RunLinks.hide`).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from core.errors import NotFound
from core.runs.resume_links import reveal_resume_urls
from core.runs.signed_links import LONGEST_LINK, _stand_in_seal, sealed, unsealed

STAND_IN_PREFIX = "approval-link."
# Characters a URL keeps as they are (a stand-in put through `urlencode` still reads); bounded, no nesting:
# linear on any text.
STAND_IN = re.compile(
    r"approval-link\.(approve|reject)\.([a-z][a-z0-9_]{0,63})(?:-([0-9]{1,6}))?\.([0-9]{1,12})\."
    r"([A-Za-z0-9_-]{22})"
)
LINK_PATH = "/api/v1/approval-links/"


class InvalidLink(NotFound):
    """Not a link Baton made, or one that expired: the page says so (404: nothing to tell a stranger)."""


@dataclass(frozen=True)
class ApprovalLink:
    execution_id: str
    step_id: str
    approved: bool
    expires_at: datetime
    # an agent step's tool call (its number in the step): each call waiting for approval has its own pair
    call: int | None = None

    @property
    def subject(self) -> str:
        """What the pair decides: the step, or the step's call (`chat-3`)."""
        return self.step_id if self.call is None else f"{self.step_id}-{self.call}"


def link_token(secret: str, link: ApprovalLink) -> str:
    parts = [
        link.execution_id,
        link.step_id,
        "a" if link.approved else "r",
        str(int(link.expires_at.timestamp())),
    ]
    return sealed(secret, "|".join(parts if link.call is None else [*parts, str(link.call)]).encode())


def read_link(secret: str, token: str, now: datetime | None = None) -> ApprovalLink:
    """The link a token stands for; InvalidLink when it is forged, damaged or expired."""
    try:
        execution_id, step_id, decision, expires, *rest = unsealed(secret, token).decode().split("|")
        expires_at = datetime.fromtimestamp(int(expires), UTC)
        if len(rest) > 1 or (rest and not rest[0].isdigit()):
            raise ValueError("not a call number")
        call = int(rest[0]) if rest else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidLink("this approval link is not valid") from exc
    if decision not in ("a", "r"):
        raise InvalidLink("this approval link is not valid")
    if (now or datetime.now(UTC)) >= expires_at:
        raise InvalidLink("this approval link has expired")
    return ApprovalLink(execution_id, step_id, decision == "a", expires_at, call)


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
    return link_token(secret, replace(link, approved=not link.approved))


def stand_in(secret: str, link: ApprovalLink) -> str:
    """What the run holds for a link: names the decision and the step (readable in a row), not usable."""
    text = f"{STAND_IN_PREFIX}{'approve' if link.approved else 'reject'}.{link.subject}"
    text += f".{int(link.expires_at.timestamp())}"
    return f"{text}.{_stand_in_seal(secret, link.execution_id, text)}"


def stand_in_pair(
    secret: str, execution_id: str, step_id: str, expires_at: datetime | None, call: int | None = None
) -> tuple[str, str, datetime]:
    """(approve stand-in, reject stand-in, when the links expire): at the approval's deadline, at most
    LONGEST_LINK; `call`: an agent step's tool call."""
    longest = datetime.now(UTC) + LONGEST_LINK
    until = min(expires_at, longest) if expires_at is not None else longest
    until = datetime.fromtimestamp(int(until.timestamp()), UTC)
    pair = [stand_in(secret, ApprovalLink(execution_id, step_id, ok, until, call)) for ok in (True, False)]
    return pair[0], pair[1], until


@dataclass(frozen=True)
class RunLinks:
    """Swaps one run's stand-ins for real links in what an action sends, and back in what it answers."""

    secret: str
    base_url: str
    execution_id: str | None
    shown: dict[str, str]  # real link (and its bare token) -> its stand-in

    def reveal(self, value: Any) -> tuple[Any, RunLinks]:
        """`value` with this run's stand-ins turned into links (a stand-in sealed for another run, or not
        sealed by Baton, stays as it is), and these RunLinks knowing them to hide them again."""
        # the run's resume URL's stand-in too (core.runs.resume_links imports this module)
        from core.runs.resume_links import STAND_IN_PREFIX as RESUME_STAND_IN_PREFIX

        if self.execution_id is None:
            return value, self
        execution_id = self.execution_id
        shown = dict(self.shown)

        def link_for(found: re.Match[str]) -> str:
            decision, step_id, call, expires, seal = found.groups()
            text = found.group(0)[: -len(seal) - 1]
            if not hmac.compare_digest(seal, _stand_in_seal(self.secret, execution_id, text)):
                return found.group(0)
            until = datetime.fromtimestamp(int(expires), UTC)
            link = ApprovalLink(
                execution_id, step_id, decision == "approve", until, int(call) if call else None
            )
            token = link_token(self.secret, link)
            url = f"{self.base_url.rstrip('/')}{LINK_PATH}{token}"
            shown[url] = shown[token] = found.group(0)
            return url

        def walk(item: Any) -> Any:
            if isinstance(item, str):
                if RESUME_STAND_IN_PREFIX in item:  # the run's resume URL (core.runs.resume_links)
                    item = reveal_resume_urls(self.secret, self.base_url, execution_id, item, shown)
                return STAND_IN.sub(link_for, item) if STAND_IN_PREFIX in item else item
            if isinstance(item, dict):
                return {key: walk(inner) for key, inner in item.items()}
            if isinstance(item, list):
                return [walk(inner) for inner in item]
            return item

        revealed = walk(value)
        return revealed, RunLinks(self.secret, self.base_url, execution_id, shown)

    def hide(self, value: Any) -> Any:
        """`value` with the links revealed turned back into their stand-ins (a service that echoes the
        message it was sent), URLs before bare tokens."""
        if not self.shown:
            return value
        if isinstance(value, str):
            for real in sorted(self.shown, key=len, reverse=True):
                if real in value:
                    value = value.replace(real, self.shown[real])
            return value
        if isinstance(value, dict):
            return {self.hide(key): self.hide(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.hide(inner) for inner in value]
        return value
