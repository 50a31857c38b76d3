"""The per-request audit recorder: route handlers say what changed; it adds who, where from, and when. And
the audited creation of a workflow, which the workflow, import and template routes share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import SessionDep, WorkspaceAccess
from api.schemas.workflows import WorkflowOut
from core import audit
from core import workflows as store
from core.accounts import Principal
from integrations.catalogue import action_input_schema, polling_config_schema


class Auditor:
    def __init__(self, request: Request, session: SessionDep) -> None:
        self._request = request
        self._session = session

    async def record(
        self,
        action: str,
        *,
        principal: Principal | None,
        entity_type: str,
        entity_id: str | None,
        workspace_id: str | None,
        before: Any = None,
        after: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        await audit.record(
            self._session,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            user_id=principal.user.id if principal else None,
            workspace_id=workspace_id,
            before=_plain(before),
            after=_plain(after),
            metadata={
                **(metadata or {}),
                **({"apiKeyId": principal.api_key_id} if principal and principal.api_key_id else {}),
            }
            or None,
            ip_address=self._request.client.host if self._request.client else None,
            user_agent=self._request.headers.get("user-agent"),
        )

    async def in_workspace(
        self, access: WorkspaceAccess, action: str, entity_type: str, entity_id: str | None, **details: Any
    ) -> None:
        """`record` for what a caller did in its workspace (who and where: the caller's access); `details`:
        before, after, metadata."""
        await self.record(
            action,
            principal=access.principal,
            entity_type=entity_type,
            entity_id=entity_id,
            workspace_id=access.workspace.id,
            **details,
        )


def _plain(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


async def auditor(request: Request, session: SessionDep) -> Auditor:
    return Auditor(request, session)  # an async dependency: a class would be built in a worker thread


AuditorDep = Annotated[Auditor, Depends(auditor)]


async def create_audited(
    session: AsyncSession,
    access: WorkspaceAccess,
    auditor: AuditorDep,
    fields: dict[str, Any],
    action: str,
    metadata: dict[str, Any] | None = None,
) -> WorkflowOut:
    """Creates a draft workflow from `fields` and records `action` in the audit log."""
    workflow = await store.create(
        session, access.workspace, access.principal.user, fields, action_input_schema, polling_config_schema
    )
    await session.refresh(workflow)
    out = WorkflowOut.model_validate(workflow)
    await auditor.in_workspace(access, action, "workflow", workflow.id, after=out, metadata=metadata)
    return out
