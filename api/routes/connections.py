"""Connections to integrations: credentials are write-only and encrypted at rest."""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, status

from api.audit import AuditorDep
from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.connections import ConnectionCreate, ConnectionOut, ConnectionTest, ConnectionUpdate
from core import connections as store
from core.crypto import CredentialCipher
from core.permissions import Permission
from integrations.catalogue import get_integration
from integrations.sdk import ActionContext, ActionError

router = APIRouter(prefix="/workspaces/{workspace_id}/connections", tags=["connections"])
ERRORS = error_responses(401, 403, 404, 422)
logger = logging.getLogger("baton.connections")

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "connections:read"))]
Manager = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.MANAGE, "connections:write"))]


def _cipher(resources: ResourcesDep) -> CredentialCipher:
    return CredentialCipher.from_settings(resources.settings)


def _model_of(integration_id: str) -> type | None:
    integration = get_integration(integration_id)
    return integration.credentials_model if integration else None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConnectionOut, responses=ERRORS)
async def create(
    body: ConnectionCreate, access: Manager, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> ConnectionOut:
    """Store credentials for an integration (checked against what it expects, encrypted, never returned)."""
    connection = await store.create(
        session,
        _cipher(resources),
        workspace_id=access.workspace.id,
        user=access.principal.user,
        integration_id=body.integration_id,
        name=body.name,
        credentials=body.credentials,
        credentials_model=_model_of(body.integration_id),
    )
    await session.refresh(connection)
    out = ConnectionOut.model_validate(connection)
    await auditor.record(
        "connection.created",
        principal=access.principal,
        entity_type="connection",
        entity_id=connection.id,
        workspace_id=access.workspace.id,
        after=out,
    )
    return out


@router.get("", response_model=Page[ConnectionOut], responses=ERRORS)
async def list_connections(
    access: Reader, session: SessionDep, integration_id: str | None = None
) -> Page[ConnectionOut]:
    rows = await store.list_all(session, access.workspace.id, integration_id)
    return Page(items=[ConnectionOut.model_validate(c) for c in rows])


@router.get("/{connection_id}", response_model=ConnectionOut, responses=ERRORS)
async def get(connection_id: str, access: Reader, session: SessionDep) -> ConnectionOut:
    return ConnectionOut.model_validate(await store.get(session, access.workspace.id, connection_id))


@router.patch("/{connection_id}", response_model=ConnectionOut, responses=ERRORS)
async def update(
    connection_id: str,
    body: ConnectionUpdate,
    access: Manager,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> ConnectionOut:
    connection = await store.get(session, access.workspace.id, connection_id)
    before = ConnectionOut.model_validate(connection)
    fields = body.model_dump(by_alias=True, exclude_unset=True)
    connection = await store.update(
        session, _cipher(resources), connection, fields, _model_of(connection.integration_id)
    )
    await session.refresh(connection)
    out = ConnectionOut.model_validate(connection)
    await auditor.record(
        "connection.updated",
        principal=access.principal,
        entity_type="connection",
        entity_id=connection.id,
        workspace_id=access.workspace.id,
        before=before,
        after=out,
        metadata={"credentialsReplaced": body.credentials is not None},
    )
    return out


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete(connection_id: str, access: Manager, session: SessionDep, auditor: AuditorDep) -> None:
    connection = await store.get(session, access.workspace.id, connection_id)
    before = ConnectionOut.model_validate(connection)
    await session.delete(connection)
    await auditor.record(
        "connection.deleted",
        principal=access.principal,
        entity_type="connection",
        entity_id=connection_id,
        workspace_id=access.workspace.id,
        before=before,
    )


@router.post("/{connection_id}/test", response_model=ConnectionTest, responses=ERRORS)
async def test(
    connection_id: str, access: Manager, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> ConnectionTest:
    """Check the connection with the integration's test hook (or, without one, that its credentials are
    readable and well-formed); records `lastTestedAt` and `testStatus`."""
    connection = await store.get(session, access.workspace.id, connection_id)
    integration = get_integration(connection.integration_id)
    try:
        credentials = _cipher(resources).open(connection.credentials)
        store.check_credentials(integration.credentials_model if integration else None, credentials)
        if integration is not None and integration.test is not None:
            async with httpx.AsyncClient(timeout=15) as http:
                await integration.test(ActionContext(credentials=credentials, http=http, logger=logger))
            detail = f"{integration.name} accepted the credentials"
        else:
            detail = "the credentials are readable and well-formed (this integration has no live test)"
        ok = True
    except (ActionError, store.InvalidCredentials, ValueError) as exc:
        ok, detail = False, str(exc)
    store.record_test(connection, ok)
    session.add(connection)
    await auditor.record(
        "connection.tested",
        principal=access.principal,
        entity_type="connection",
        entity_id=connection_id,
        workspace_id=access.workspace.id,
        metadata={"ok": ok},
    )
    return ConnectionTest(ok=ok, test_status=connection.test_status, detail=detail)
