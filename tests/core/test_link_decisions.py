"""Deciding through a signed approval link (core.runs.link_decisions), without the route: a token that is not
Baton's decides nothing, and a pair is used once even when the run refuses the decision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from core.redis_keys import RedisKeys
from core.runs import RunService
from core.runs.approval_links import ApprovalLink, link_token
from core.runs.link_decisions import LinkRefused, decide_by_link
from core.settings import Settings


async def test_a_token_baton_did_not_write_is_not_a_link_and_claims_nothing(
    engine: AsyncEngine, temporal_client: Client, settings: Settings, redis: Redis, redis_keys: RedisKeys
) -> None:
    runs = RunService(engine, temporal_client, settings)
    token = link_token("another-secret-key-0123456789abcdef", ApprovalLink("e", "ok", True, _tomorrow()))
    outcome = await decide_by_link(settings.secret_key, redis, redis_keys, runs, token, None)
    assert outcome == LinkRefused(
        404, "not_found", "This link does not work", "this approval link is not valid"
    )
    assert not await redis.exists(redis_keys.approval_link_used("e", "ok"))


async def test_a_link_of_a_run_that_is_not_running_is_refused_and_its_pair_stays_used(
    engine: AsyncEngine, temporal_client: Client, settings: Settings, redis: Redis, redis_keys: RedisKeys
) -> None:
    runs = RunService(engine, temporal_client, settings)
    execution_id = str(uuid.uuid4())
    approve = link_token(settings.secret_key, ApprovalLink(execution_id, "ok", True, _tomorrow()))
    reject = link_token(settings.secret_key, ApprovalLink(execution_id, "ok", False, _tomorrow()))
    first = await decide_by_link(settings.secret_key, redis, redis_keys, runs, approve, "fine")
    assert isinstance(first, LinkRefused)
    assert (first.status, first.title) == (409, "Not decided")
    assert "not running" in first.detail
    # the run answered (it refused): the other link of the pair decides nothing either
    second = await decide_by_link(settings.secret_key, redis, redis_keys, runs, reject, None)
    assert second == LinkRefused(
        409, "conflict", "Already decided", "this approval was already decided through its links"
    )


def _tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)
