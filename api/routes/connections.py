"""Connections to integrations: credentials are write-only and encrypted at rest."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse, RedirectResponse

from api.audit import AuditorDep
from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.resources import Resources
from api.schemas.base import Page
from api.schemas.connections import ConnectionCreate, ConnectionOut, ConnectionTest, ConnectionUpdate
from core import connections as store
from core import oauth, oauth_grants, oauth_providers
from core.accounts import Principal
from core.crypto import CredentialCipher
from core.models import Connection, User
from core.outbound import outbound_client, policy_for
from core.permissions import Permission
from integrations.catalogue import get_integration
from integrations.connection_tests import check_connection

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
        rate_limit=body.rate_limit.model_dump(by_alias=True) if body.rate_limit else None,
    )
    await session.refresh(connection)
    out = ConnectionOut.model_validate(connection)
    await auditor.in_workspace(access, "connection.created", "connection", connection.id, after=out)
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
    await auditor.in_workspace(
        access,
        "connection.updated",
        "connection",
        connection.id,
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
    await auditor.in_workspace(access, "connection.deleted", "connection", connection_id, before=before)


@router.post("/{connection_id}/test", response_model=ConnectionTest, responses=ERRORS)
async def test(
    connection_id: str, access: Manager, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> ConnectionTest:
    """Check the connection with the integration's test hook (or, without one, that its credentials are
    readable and well-formed); records `lastTestedAt` and `testStatus`."""
    connection = await store.get(session, access.workspace.id, connection_id)
    checked = await check_connection(
        connection_id,
        access.workspace.id,
        connection.integration_id,
        resources.credentials,
        resources.settings,
    )
    store.record_test(connection, checked.ok)
    session.add(connection)
    await auditor.in_workspace(
        access,
        "connection.tested",
        "connection",
        connection_id,
        metadata={"ok": checked.ok},
    )
    return ConnectionTest(
        ok=checked.ok, test_status=connection.test_status, detail=checked.detail, failure=checked.failure
    )


oauth_router = APIRouter(tags=["connections"])


def _redirect_uri(resources: Resources) -> str:
    return f"{resources.settings.public_base_url.rstrip('/')}/api/v1/oauth/callback"


@router.get(
    "/oauth/{integration_id}/authorize",
    responses={**error_responses(400, 401, 403, 404), 307: {"description": "Redirect to the provider"}},
)
async def authorize(
    integration_id: str,
    access: Manager,
    resources: ResourcesDep,
    name: Annotated[str | None, Query(max_length=200, description="Name of the new connection")] = None,
    redirect: Annotated[
        bool, Query(description="false: answer the URL as JSON instead of redirecting")
    ] = True,
) -> Response:
    """Start connecting an OAuth2 integration: redirects to the provider's consent page."""
    integration = get_integration(integration_id)
    client = oauth.client_for(
        integration_id, integration.oauth2 if integration else None, resources.settings.oauth_clients
    )
    pending = oauth.PendingAuthorization(
        workspace_id=access.workspace.id,
        user_id=access.principal.user.id,
        integration_id=integration_id,
        name=name or (integration.name if integration else integration_id),
        code_verifier=None,
    )
    url = await oauth.begin(resources.redis, resources.keys, client, pending, _redirect_uri(resources))
    if redirect:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return JSONResponse({"authorizeUrl": url})


def _catalogue(resources: Resources) -> oauth_providers.Catalogue:
    settings = resources.settings
    return oauth_providers.load(settings.oauth_providers_file, settings.oauth_providers)


@router.get(
    "/oauth/providers/{provider_id}/authorize",
    responses={**error_responses(400, 401, 403, 404), 307: {"description": "Redirect to the provider"}},
)
async def authorize_provider(
    provider_id: str,
    access: Manager,
    resources: ResourcesDep,
    name: Annotated[str | None, Query(max_length=200, description="Name of the new connection")] = None,
    scopes: Annotated[
        str | None, Query(max_length=2000, description="Space-separated scopes instead of the default ones")
    ] = None,
    redirect: Annotated[
        bool, Query(description="false: answer the URL as JSON instead of redirecting")
    ] = True,
) -> Response:
    """Connect `http.request` to any provider of the OAuth2 catalogue (authorization code with PKCE):
    redirects to the provider's consent page; the callback makes an `http` connection of type oauth2."""
    catalogue = _catalogue(resources)
    client = oauth_providers.client_for(provider_id, catalogue, resources.settings.oauth_clients)
    if not client.authorize_url:
        raise oauth.OAuthError(
            f"{client.integration_id} has no browser flow (no authorizeUrl)", path="provider"
        )
    if scopes is not None:
        client = replace(client, scopes=tuple(scopes.split()))
    pending = oauth.PendingAuthorization(
        workspace_id=access.workspace.id,
        user_id=access.principal.user.id,
        integration_id="http",
        name=name or "",
        code_verifier=None,
        provider=provider_id,
        scopes=list(client.scopes),
    )
    url = await oauth.begin(resources.redis, resources.keys, client, pending, _redirect_uri(resources))
    if redirect:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return JSONResponse({"authorizeUrl": url})


@oauth_router.get(
    "/oauth/callback",
    response_model=ConnectionOut,
    responses=error_responses(400, 401, 404) | {502: {"description": "The provider failed"}},
)
async def callback(
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
    state: str,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> ConnectionOut:
    """Where the provider sends the user back: exchanges the code for tokens and creates the connection."""
    pending = await oauth.take_state(resources.redis, resources.keys, state)
    if error or not code:
        raise oauth.OAuthError(f"the provider did not authorize: {error_description or error or 'no code'}")
    if pending.provider is not None:
        connection = await _provider_connection(session, resources, pending, code)
    else:
        integration = get_integration(pending.integration_id)
        client = oauth.client_for(
            pending.integration_id,
            integration.oauth2 if integration else None,
            resources.settings.oauth_clients,
        )
        # the same guarded client and policy as the worker's refresh (core.outbound.policy_for)
        async with outbound_client(policy_for(resources.settings), timeout=20) as http:
            tokens = await oauth.exchange_code(
                http, client, code, _redirect_uri(resources), pending.code_verifier
            )
        connection = await store.create_from_oauth(
            session,
            _cipher(resources),
            workspace_id=pending.workspace_id,
            user_id=pending.user_id,
            integration_id=pending.integration_id,
            name=pending.name,
            tokens=tokens,
        )
    await session.refresh(connection)
    out = ConnectionOut.model_validate(connection)
    user = await session.get(User, pending.user_id)
    await auditor.record(
        "connection.created",
        principal=Principal(user) if user else None,
        entity_type="connection",
        entity_id=connection.id,
        workspace_id=pending.workspace_id,
        after=out,
        metadata={"via": "oauth2"},
    )
    return out


async def _provider_connection(
    session: SessionDep, resources: Resources, pending: oauth.PendingAuthorization, code: str
) -> Connection:
    """An `http` connection of type oauth2 for a catalogue provider, named after who it acts for."""
    assert pending.provider is not None
    catalogue = _catalogue(resources)
    client = oauth_providers.client_for(pending.provider, catalogue, resources.settings.oauth_clients)
    async with outbound_client(policy_for(resources.settings), timeout=20) as http:
        tokens = await oauth.exchange_code(
            http, client, code, _redirect_uri(resources), pending.code_verifier
        )
        who = await oauth_grants.connected_as(http, catalogue.get(pending.provider), tokens)
    name = pending.name or (f"{client.integration_id} ({who})" if who else client.integration_id)
    return await store.create_from_oauth(
        session,
        _cipher(resources),
        workspace_id=pending.workspace_id,
        user_id=pending.user_id,
        integration_id="http",
        name=name,
        tokens=tokens,
        earlier={
            "type": "oauth2",
            "grant": "authorization_code",
            "provider": pending.provider,
            "scopes": pending.scopes,
            **({"connectedAs": who} if who else {}),
        },
        connected_as=who,
    )
