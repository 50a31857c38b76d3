"""Using a template: a new draft workflow in a workspace, built from the template's definition."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.audit import AuditorDep, create_audited
from api.deps import SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.workflows import WorkflowOut
from core.catalogue import get_template
from core.errors import Conflict
from core.permissions import Permission
from integrations.catalogue import get_integration

router = APIRouter(prefix="/workspaces/{workspace_id}/templates", tags=["catalogue"])
Editor = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "workflows:write"))]


@router.post(
    "/{template_id}/use",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkflowOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def use(template_id: str, access: Editor, session: SessionDep, auditor: AuditorDep) -> WorkflowOut:
    """Create a draft workflow from the template (connect its integrations, then publish it)."""
    template = await get_template(session, template_id)
    missing = [i for i in template.required_integrations if get_integration(i) is None]
    if missing:
        raise Conflict(f"this template needs integrations this installation lacks: {', '.join(missing)}")
    fields = {
        "name": template.name,
        "description": template.description,
        "triggerType": template.trigger_type.value,
        "triggerConfig": template.trigger_config,
        "steps": template.steps,
        "tags": template.tags,
    }
    template.usage_count += 1
    session.add(template)
    return await create_audited(
        session, access, auditor, fields, "workflow.created", {"template": template_id}
    )
