"""Deciding an approval through its signed link (core.runs.approval_links): no login, the link is the
credential, and the pair works once.

Once is held in Redis before the run is asked (two clicks at the same time cannot both decide); a decision
that did not reach the run (no worker took it) lets the link go again, while one the run refused keeps it
used. The route (api.routes.approval_links) only reads the form and turns the outcome into a page or JSON.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.contract import Decision
from core.errors import BatonError, Conflict
from core.redis_keys import RedisKeys
from core.runs.approval_links import InvalidLink, read_link
from core.runs.service import RunService

logger = logging.getLogger("baton.approvals")
LINK_DECIDER = "approval-link"
LINK_HOLD_SECONDS = 7 * 86400  # longer than a decision takes to land; the run's own record is the truth


@dataclass(frozen=True)
class LinkDecided:
    step_id: str
    approved: bool
    by: str = LINK_DECIDER


@dataclass(frozen=True)
class LinkRefused:
    status: int  # 404 not a link (or expired), 409 decided already or refused by the run, 503 try again
    kind: str
    title: str
    detail: str


async def decide_by_link(
    secret_key: str,
    redis: Redis,
    keys: RedisKeys,
    runs: RunService,
    token: str,
    comment: str | None,
    *,
    choice: str | None = None,
    values: dict[str, Any] | None = None,
) -> LinkDecided | LinkRefused:
    """Decides the approval as the link says (approve or reject), once for the pair; an approve link of a
    step with choices or fields carries the choice made and the values given."""
    try:
        link = read_link(secret_key, token)
    except InvalidLink as exc:
        return LinkRefused(404, "not_found", "This link does not work", exc.detail)
    used = keys.approval_link_used(link.execution_id, link.subject)
    if not await redis.set(used, "1", nx=True, ex=LINK_HOLD_SECONDS):
        detail = "this approval was already decided through its links"
        return LinkRefused(409, "conflict", "Already decided", detail)
    decision = Decision(
        link.step_id,
        link.approved,
        by=LINK_DECIDER,
        comment=comment,
        choice=choice if link.approved else None,
        values=values if link.approved else None,
        call=link.call,
    )
    try:
        await runs.decide(link.execution_id, decision, f"link:{token[-16:]}")
    except Conflict as exc:
        return LinkRefused(409, "conflict", "Not decided", exc.detail)
    except BatonError as exc:
        await redis.delete(used)  # it did not land: the link may be used again
        return LinkRefused(503, "unavailable", "Not decided yet", f"{exc.detail}; try again shortly")
    verdict = "approved" if link.approved else "rejected"
    logger.info("execution %s: step %s %s through its link", link.execution_id, link.step_id, verdict)
    return LinkDecided(link.step_id, link.approved)
