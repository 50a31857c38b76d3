"""The global catalogue: integrations with their triggers and actions, templates, the definition schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import PrincipalDep, ResourcesDep, SessionDep
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.catalogue import IntegrationDetail, IntegrationOut, TemplateOut
from core.catalogue import get_integration, get_template, list_integrations, list_templates
from core.definition.steps import definition_json_schema

router = APIRouter(tags=["catalogue"])
ERRORS = error_responses(401, 404)


@router.get("/integrations", response_model=Page[IntegrationOut], responses=ERRORS)
async def integrations(
    _: PrincipalDep, session: SessionDep, category: str | None = None, popular: bool | None = None
) -> Page[IntegrationOut]:
    """Every integration, popular first; filter with `category` and `popular`."""
    rows = await list_integrations(session, category=category, popular=popular)
    return Page(items=[IntegrationOut.model_validate(row) for row in rows])


@router.get("/integrations/{integration_id}", response_model=IntegrationDetail, responses=ERRORS)
async def integration(
    integration_id: str, _: PrincipalDep, session: SessionDep, resources: ResourcesDep
) -> IntegrationDetail:
    """An integration with its triggers and actions and their JSON Schemas (cached for an hour)."""
    document = await get_integration(session, resources.redis, resources.keys, integration_id)
    return IntegrationDetail.model_validate(document)


@router.get("/templates", response_model=Page[TemplateOut], responses=ERRORS)
async def templates(
    _: PrincipalDep, session: SessionDep, category: str | None = None, popular: bool | None = None
) -> Page[TemplateOut]:
    rows = await list_templates(session, category=category, popular=popular)
    return Page(items=[TemplateOut.model_validate(row) for row in rows])


@router.get("/templates/{template_id}", response_model=TemplateOut, responses=ERRORS)
async def template(template_id: str, _: PrincipalDep, session: SessionDep) -> TemplateOut:
    return TemplateOut.model_validate(await get_template(session, template_id))


@router.get("/definition-schema", responses=ERRORS)
async def definition_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow definition (`triggerType`, `triggerConfig`, `steps`), from the code."""
    return definition_json_schema()
