"""The global catalogue: integrations with their triggers and actions, templates, the definition schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.audit import AuditorDep
from api.deps import PrincipalDep, ResourcesDep, SessionDep
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.catalogue import IntegrationDetail, IntegrationOut, ServiceImport, TemplateOut
from core.catalogue import (
    forget_integrations,
    get_integration,
    get_template,
    list_integrations,
    list_templates,
)
from core.definition.steps import definition_json_schema
from core.workspaces import OperatorOnly, is_instance_admin
from integrations.openapi.imports import import_service

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


@router.post(
    "/integrations/import",
    status_code=status.HTTP_201_CREATED,
    response_model=IntegrationDetail,
    responses=error_responses(401, 403, 409, 413, 422),
)
async def import_openapi(
    body: ServiceImport,
    principal: PrincipalDep,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> IntegrationDetail:
    """Import a service described by an OpenAPI 3 document: each operation becomes an action (input schema
    from its parameters and body, output from its 2xx response), listed here like a built-in and runnable
    as a step. Importing again under the same id replaces it. Only the instance admins named in
    INSTANCE_ADMINS may (the catalogue is every workspace's); `baton integrations import` is the operator's
    other way. A bad document is a 422 naming its JSON path."""
    if not is_instance_admin(principal.user, resources.settings.instance_admins):
        raise OperatorOnly("only an instance admin (INSTANCE_ADMINS) may import integrations")
    integration = await import_service(
        await session.connection(),
        body.document,
        service_id=body.id,
        base_url=body.base_url,
        imported_by=principal.user.id,
    )
    await forget_integrations(resources.redis, resources.keys, [integration.id])
    document = await get_integration(session, resources.redis, resources.keys, integration.id)
    await forget_integrations(resources.redis, resources.keys, [integration.id])  # cached before commit
    await auditor.record(
        "integration.imported",
        principal=principal,
        entity_type="integration",
        entity_id=integration.id,
        workspace_id=None,
        metadata={"actions": len(integration.actions)},
    )
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
