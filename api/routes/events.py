"""Events sent to a workspace (core.runs.events): each resumes the runs whose `wait` step waits for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.audit import AuditorDep
from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.events import EventBody, EventOut
from core.permissions import Permission

router = APIRouter(prefix="/workspaces/{workspace_id}/events", tags=["executions"])
Sender = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(401, 403, 404, 422))
async def send_event(
    body: EventBody, access: Sender, session: SessionDep, resources: ResourcesDep, audit: AuditorDep
) -> EventOut:
    """Hands the event to every run of the workspace whose `wait` step waits for its name and whose `match`
    accepts it; answers once each run has taken it or not. An event is not kept: a run that reaches its
    `wait` step later is not resumed by it (send it again, with the same `idempotencyKey`)."""
    workspace_id = access.workspace.id
    await session.commit()  # the deliveries wait for workers: hold no pooled connection meanwhile
    service = await resources.run_service()
    published = await service.events.publish(workspace_id, body.name, body.data, body.idempotency_key)
    metadata = {"name": body.name, "waiting": published.waiting, "resumed": len(published.resumed)}
    await audit.in_workspace(access, "event.sent", "event", published.event.id, metadata=metadata)
    return EventOut(
        id=published.event.id,
        name=published.event.name,
        received_at=published.event.received_at,
        waiting=published.waiting,
        resumed=published.resumed,
    )
