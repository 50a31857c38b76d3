"""A run's resume URL (`{{ execution.resumeUrl }}`): a signed, single-use URL that a third party calls back
(`POST`, any JSON body) to resume the run's `wait` step with what it sends, without a Baton login.

The URL is `{PUBLIC_URL}/api/v1/resume/{token}`: the token names the execution and an expiry, sealed with an
HMAC of SECRET_KEY (its own purpose, so it is no approval link). It works once per run: the first call that
resumes a step spends it (held in Redis before the run is asked; let go again when the call did not land).
Like approval links, the run holds only a stand-in (`resume-url.<seal>`, sealed to the run so no payload can
forge one): rows, logs, live views and the run's history show the stand-in, and an action swaps it for the
URL in what it sends and back in what it answers (core.runs.approval_links.RunLinks).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import Conflict, NotFound
from core.redis_keys import RedisKeys
from core.runs.events import RunEvents
from core.runs.signed_links import LONGEST_LINK, _stand_in_seal, sealed, unsealed
from core.runs.waits import Event

PURPOSE = b"baton resume url v1"
RESUME_PATH = "/api/v1/resume/"
STAND_IN_PREFIX = "resume-url."
STAND_IN = re.compile(r"resume-url\.([A-Za-z0-9_-]{22})")
STAND_IN_TEXT = "resume-url"
HOLD_SECONDS = 31 * 86400  # past the longest a URL lives
WAITING_STEP = text(
    """
    SELECT step_id, state->>'event' AS event FROM step_executions
    WHERE execution_id = :execution_id AND state IS NOT NULL AND state->>'for' = 'event'
    ORDER BY sequence DESC NULLS LAST LIMIT 1
    """
)


class InvalidResumeUrl(NotFound):
    """Not a URL Baton made, or one that expired (404: nothing to tell a stranger)."""


@dataclass(frozen=True)
class ResumeUrlRequest:
    """The run asks for its resume URL's stand-in (sealing needs SECRET_KEY, which workflow code never
    holds)."""

    execution_id: str


def resume_token(secret: str, execution_id: str, expires_at: datetime) -> str:
    return sealed(secret, f"{execution_id}|{int(expires_at.timestamp())}".encode(), PURPOSE)


def read_resume_token(secret: str, token: str, now: datetime | None = None) -> str:
    """The execution a token resumes; InvalidResumeUrl when it is forged, damaged or expired."""
    try:
        execution_id, expires = unsealed(secret, token, PURPOSE).decode().split("|")
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidResumeUrl("this resume URL is not valid") from exc
    if (now or datetime.now(UTC)) >= expires_at:
        raise InvalidResumeUrl("this resume URL has expired")
    return execution_id


def resume_stand_in(secret: str, execution_id: str) -> str:
    """What the run holds for its resume URL (`execution.resumeUrl`): readable, not usable."""
    return f"{STAND_IN_PREFIX}{_stand_in_seal(secret, execution_id, STAND_IN_TEXT)}"


def reveal_resume_urls(
    secret: str, base_url: str, execution_id: str, text_value: str, shown: dict[str, str]
) -> str:
    """`text_value` with this run's resume stand-in turned into its URL (valid LONGEST_LINK from now);
    `shown` learns the URL and its token, to hide them again."""

    def url_for(found: re.Match[str]) -> str:
        if not hmac.compare_digest(found.group(1), _stand_in_seal(secret, execution_id, STAND_IN_TEXT)):
            return found.group(0)
        token = resume_token(secret, execution_id, datetime.now(UTC) + LONGEST_LINK)
        url = f"{base_url.rstrip('/')}{RESUME_PATH}{token}"
        shown[url] = shown[token] = found.group(0)
        return url

    return STAND_IN.sub(url_for, text_value)


@dataclass(frozen=True)
class Resumed:
    execution_id: str
    step_id: str


async def resume_by_url(
    secret: str, redis: Redis, keys: RedisKeys, engine: AsyncEngine, events: RunEvents, token: str, data: Any
) -> Resumed:
    """Resumes the run's waiting `wait` step with `data`, once for the run. NotFound (404) for a URL that
    is not valid; Conflict (409) when it was used already, or the run waits for no event now (the URL is
    not spent then: call it again once the run waits)."""
    execution_id = read_resume_token(secret, token)
    async with engine.connect() as connection:
        waiting = (await connection.execute(WAITING_STEP, {"execution_id": execution_id})).first()
    used = keys.resume_url_used(execution_id)
    if await redis.exists(used):
        raise Conflict("this resume URL was used already")
    if waiting is None:
        raise Conflict("the run is not waiting for an event now; call again once it is")
    if not await redis.set(used, "1", nx=True, ex=HOLD_SECONDS):
        raise Conflict("this resume URL was used already")
    event = Event(
        id=f"resume:{execution_id}",
        name=waiting.event,
        data=data,
        received_at=datetime.now(UTC).isoformat(),
        via="resume-url",
    )
    if not await events.deliver(execution_id, waiting.step_id, event):
        await redis.delete(used)  # it did not land: the URL may be used again
        raise Conflict("the run did not take the call (it no longer waits); try again once it waits")
    return Resumed(execution_id, waiting.step_id)
