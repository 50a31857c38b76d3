"""Reading the catalogue (integrations with their triggers and actions, templates) for the API.

`GET /integrations/{id}` is served from the seed's Redis hash `integration:{id}` (1 hour): the summary
fields the seed names (`name`, `authType`, ...) plus the full document, rebuilt from PostgreSQL on a miss.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound
from core.models import Action, Integration, Trigger, WorkflowTemplate
from core.redis_keys import RedisKeys

INTEGRATION_CACHE_SECONDS = 3600


def integration_summary(integration: Integration) -> dict[str, Any]:
    return {
        "id": integration.id,
        "name": integration.name,
        "description": integration.description,
        "icon": integration.icon,
        "category": integration.category,
        "authType": integration.auth_type.value,
        "isActive": integration.is_active,
        "isPopular": integration.is_popular,
        "docsUrl": integration.docs_url,
        "websiteUrl": integration.website_url,
    }


async def list_integrations(
    session: AsyncSession, *, category: str | None = None, popular: bool | None = None
) -> list[dict[str, Any]]:
    query = select(Integration).order_by(col(Integration.is_popular).desc(), col(Integration.name))
    if category is not None:
        query = query.where(Integration.category == category)
    if popular is not None:
        query = query.where(Integration.is_popular == popular)
    return [integration_summary(i) for i in (await session.exec(query)).all()]


async def _load_integration(session: AsyncSession, integration_id: str) -> dict[str, Any]:
    integration = await session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"no integration {integration_id!r}")
    triggers = (await session.exec(select(Trigger).where(Trigger.integration_id == integration_id))).all()
    actions = (await session.exec(select(Action).where(Action.integration_id == integration_id))).all()
    return {
        **integration_summary(integration),
        "triggers": [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "type": t.type.value,
                "configSchema": t.config_schema,
                "pollingInterval": t.polling_interval,
                "isActive": t.is_active,
            }
            for t in sorted(triggers, key=lambda t: t.id)
        ],
        "actions": [
            {
                "id": a.id,
                "name": a.name,
                "description": a.description,
                "inputSchema": a.input_schema,
                "outputSchema": a.output_schema,
                "isActive": a.is_active,
            }
            for a in sorted(actions, key=lambda a: a.id)
        ],
    }


async def get_integration(
    session: AsyncSession, redis: Redis, keys: RedisKeys, integration_id: str
) -> dict[str, Any]:
    key = keys.integration_cache(integration_id)
    cached = await redis.hget(key, "document")
    if cached:
        document: dict[str, Any] = json.loads(cached)
        return document
    document = await _load_integration(session, integration_id)
    fields: dict[Any, Any] = {
        "name": str(document["name"]),
        "authType": str(document["authType"]),
        "category": str(document["category"]),
        "document": json.dumps(document),
    }
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=fields)
        pipe.expire(key, INTEGRATION_CACHE_SECONDS)
        await pipe.execute()
    return document


async def forget_integrations(redis: Redis, keys: RedisKeys, integration_ids: list[str]) -> None:
    """Drops cached catalogue entries (after `baton seed` changed them)."""
    if integration_ids:
        await redis.delete(*(keys.integration_cache(i) for i in integration_ids))


async def list_templates(
    session: AsyncSession, *, category: str | None = None, popular: bool | None = None
) -> list[WorkflowTemplate]:
    query = select(WorkflowTemplate).order_by(
        col(WorkflowTemplate.is_popular).desc(), col(WorkflowTemplate.name)
    )
    if category is not None:
        query = query.where(WorkflowTemplate.category == category)
    if popular is not None:
        query = query.where(WorkflowTemplate.is_popular == popular)
    return list((await session.exec(query)).all())


async def get_template(session: AsyncSession, template_id: str) -> WorkflowTemplate:
    template = await session.get(WorkflowTemplate, template_id)
    if template is None:
        raise NotFound(f"no template {template_id!r}")
    return template
