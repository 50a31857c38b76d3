"""A workspace's webhooks: their URLs and stats, and their signing secrets (made here, shown once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import Field

from api.audit import AuditorDep
from api.deps import ResourcesDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.base import ApiModel, Page
from core.errors import NotFound
from core.permissions import Permission

router = APIRouter(prefix="/workspaces/{workspace_id}/webhooks", tags=["webhooks"])
ERRORS = error_responses(401, 403, 404)
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "workflows:read"))]
Editor = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "workflows:write"))]


class WebhookOut(ApiModel):
    id: str
    workflow_id: str
    workflow_name: str
    url: str
    token: str
    is_active: bool
    has_secret: bool = Field(description="Calls must be signed (X-Baton-Signature)")
    total_calls: int
    last_called_at: datetime | None
    created_at: datetime


class WebhookSecret(ApiModel):
    webhook_id: str
    secret: str = Field(description="Shown this once; sign each call's raw body with it (HMAC-SHA256)")
    signature_header: str = "X-Baton-Signature"


def _out(row: dict[str, object]) -> WebhookOut:
    return WebhookOut.model_validate({**row, "has_secret": row.get("secret") is not None})


@router.get("", response_model=Page[WebhookOut], responses=ERRORS)
async def list_webhooks(access: Reader, resources: ResourcesDep) -> Page[WebhookOut]:
    """Every webhook of the workspace: its URL and token, whether it is active and signed, and its stats."""
    rows = await resources.webhooks.list_for_workspace(access.workspace.id)
    return Page(items=[_out(row) for row in rows])


async def _own(resources: ResourcesDep, access: WorkspaceAccess, webhook_id: str) -> None:
    if await resources.webhooks.workspace_of(webhook_id) != access.workspace.id:
        raise NotFound("webhook not found")


@router.post(
    "/{webhook_id}/rotate-secret",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookSecret,
    responses=ERRORS,
)
async def rotate_secret(
    webhook_id: str, access: Editor, resources: ResourcesDep, auditor: AuditorDep
) -> WebhookSecret:
    """Make a new signing secret (the old one stops working at once). From now on every call must carry
    `X-Baton-Signature: sha256=<hex HMAC-SHA256 of the raw body>`; unsigned calls answer 401."""
    await _own(resources, access, webhook_id)
    secret = await resources.webhooks.rotate_secret(webhook_id)
    await auditor.record(
        "webhook.secret_rotated",
        principal=access.principal,
        entity_type="webhook",
        entity_id=webhook_id,
        workspace_id=access.workspace.id,
    )
    return WebhookSecret(webhook_id=webhook_id, secret=secret)


@router.delete("/{webhook_id}/secret", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def remove_secret(
    webhook_id: str, access: Editor, resources: ResourcesDep, auditor: AuditorDep
) -> None:
    """Stop requiring signatures on this webhook."""
    await _own(resources, access, webhook_id)
    await resources.webhooks.remove_secret(webhook_id)
    await auditor.record(
        "webhook.secret_removed",
        principal=access.principal,
        entity_type="webhook",
        entity_id=webhook_id,
        workspace_id=access.workspace.id,
    )
