"""Bodies of the workspace and member endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from api.schemas.base import ApiModel, RequestBody
from core.models import Plan, WorkspaceRole


class WorkspaceCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    slug: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class WorkspaceUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    plan: Plan | None = Field(default=None, description="Only an OWNER may change the plan")
    error_workflow_id: str | None = Field(
        default=None,
        description="The workspace's error workflow: started when a run of a workflow that names none fails "
        "or times out (send null to unset it)",
    )


class WorkspaceOut(ApiModel):
    id: str
    name: str
    slug: str
    plan: Plan
    max_workflows: int
    max_executions: int
    created_at: datetime
    updated_at: datetime
    role: WorkspaceRole = Field(description="The caller's role in this workspace")
    error_workflow_id: str | None = Field(default=None, description="The default error workflow")


class MemberCreate(RequestBody):
    email: EmailStr
    role: WorkspaceRole = WorkspaceRole.MEMBER


class MemberUpdate(RequestBody):
    role: WorkspaceRole


class MemberOut(ApiModel):
    user_id: str
    email: str | None = Field(description="null for read-only callers, but for their own")
    first_name: str
    last_name: str
    role: WorkspaceRole
    created_at: datetime


class AuditLogOut(ApiModel):
    id: str
    user_id: str | None
    workspace_id: str | None
    action: str
    entity_type: str
    entity_id: str | None
    changes: Any
    metadata: Any
    ip_address: str | None
    user_agent: str | None
    created_at: datetime


class PlanChange(RequestBody):
    """An instance operator's change of a workspace's plan; the limits default to the plan's."""

    plan: Plan = Field(examples=["ENTERPRISE"])
    max_workflows: int | None = Field(default=None, ge=0, le=1_000_000_000, examples=[500])
    max_executions: int | None = Field(default=None, ge=0, le=2_000_000_000, examples=[5_000_000])
