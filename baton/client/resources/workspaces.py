"""Workspaces: their members, audit log, analytics and plan."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from api.schemas.base import Page
from api.schemas.workspaces import (
    AuditLogOut,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    PlanChange,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)
from baton.client.endpoints import API, JSON, WS, Resource, endpoint, pages
from baton.client.transport import UNSET

PAGE = ("limit", "cursor")


class Workspaces(Resource):
    @endpoint("POST", API + "/workspaces", WorkspaceOut, body=WorkspaceCreate)
    async def create(self, name: str, slug: str | None = None) -> WorkspaceOut: ...

    @endpoint("GET", API + "/workspaces", Page[WorkspaceOut], query=PAGE)
    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[WorkspaceOut]: ...

    @pages(API + "/workspaces", WorkspaceOut)
    def iterate(self) -> AsyncIterator[WorkspaceOut]: ...

    @endpoint("GET", WS, WorkspaceOut)
    async def get(self, workspace_id: str) -> WorkspaceOut: ...

    @endpoint("PATCH", WS, WorkspaceOut, body=WorkspaceUpdate)
    async def update(
        self,
        workspace_id: str,
        *,
        name: str = UNSET,
        plan: str = UNSET,
        error_workflow_id: str | None = UNSET,
    ) -> WorkspaceOut:
        """Renames it, changes its plan (operators) or its default error workflow (None unsets it)."""

    @endpoint("DELETE", WS)
    async def delete(self, workspace_id: str) -> None: ...

    @endpoint("GET", WS + "/members", Page[MemberOut], query=PAGE)
    async def members(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[MemberOut]: ...

    @endpoint("POST", WS + "/members", MemberOut, body=MemberCreate)
    async def add_member(self, workspace_id: str, email: str, role: str = "MEMBER") -> MemberOut: ...

    @endpoint("PATCH", WS + "/members/{user_id}", MemberOut, body=MemberUpdate)
    async def update_member(self, workspace_id: str, user_id: str, role: str) -> MemberOut: ...

    @endpoint("DELETE", WS + "/members/{user_id}")
    async def remove_member(self, workspace_id: str, user_id: str) -> None: ...

    @endpoint(
        "GET",
        WS + "/audit-logs",
        Page[AuditLogOut],
        query=("entity_type", "action", "user_id", *PAGE),
    )
    async def audit_logs(
        self,
        workspace_id: str,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditLogOut]: ...

    @endpoint("GET", WS + "/analytics", JSON, query=("since", "until"))
    async def analytics(
        self, workspace_id: str, *, since: date | None = None, until: date | None = None
    ) -> Any:
        """Executions per day by status, durations, top failures, integration usage."""

    @endpoint("PUT", API + "/admin/workspaces/{workspace_id}/plan", WorkspaceOut, body=PlanChange)
    async def set_plan(self, workspace_id: str, plan: str) -> WorkspaceOut:
        """Operators only (an instance admin's token)."""
