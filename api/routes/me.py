"""The caller's own account and API keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.audit import AuditorDep
from api.deps import PrincipalDep, SessionDep
from api.errors import error_responses
from api.schemas.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, UserOut
from api.schemas.base import Page
from core.accounts import create_api_key, delete_api_key, list_api_keys
from core.errors import PermissionDenied
from core.models import ApiKey
from core.security import visible_prefix

router = APIRouter(prefix="/me", tags=["me"])
ERRORS = error_responses(401, 403, 404, 422)


def _key_out(api_key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate({**api_key.model_dump(), "prefix": visible_prefix(api_key.key)})


@router.get("", response_model=UserOut, responses=ERRORS)
async def me(principal: PrincipalDep) -> UserOut:
    return UserOut.model_validate(principal.user)


def _require_login_token(principal: PrincipalDep) -> None:
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot manage API keys; use a login token")


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated, responses=ERRORS)
async def create_key(
    body: ApiKeyCreate, principal: PrincipalDep, session: SessionDep, auditor: AuditorDep
) -> ApiKeyCreated:
    """Create an API key. The secret is in this response only; Baton stores a hash of it."""
    _require_login_token(principal)
    api_key, secret = await create_api_key(
        session, principal.user, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    await auditor.record(
        "api_key.created",
        principal=principal,
        entity_type="api_key",
        entity_id=api_key.id,
        workspace_id=None,
        metadata={"name": body.name, "scopes": body.scopes},
    )
    return ApiKeyCreated.model_validate({**_key_out(api_key).model_dump(), "key": secret})


@router.get("/api-keys", response_model=Page[ApiKeyOut], responses=ERRORS)
async def list_keys(principal: PrincipalDep, session: SessionDep) -> Page[ApiKeyOut]:
    return Page(items=[_key_out(k) for k in await list_api_keys(session, principal.user)])


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_key(key_id: str, principal: PrincipalDep, session: SessionDep, auditor: AuditorDep) -> None:
    _require_login_token(principal)
    await delete_api_key(session, principal.user, key_id)
    await auditor.record(
        "api_key.deleted", principal=principal, entity_type="api_key", entity_id=key_id, workspace_id=None
    )
