"""The blocking Workspaces: generated from baton/client/resources/workspaces.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from collections.abc import Iterator
from datetime import date
from typing import Any

from api.schemas.base import Page
from api.schemas.workspaces import AuditLogOut, MemberOut, WorkspaceOut
from baton.client.portal import Blocking
from baton.client.resources import workspaces as aio
from baton.client.transport import UNSET


class Workspaces(Blocking[aio.Workspaces]):
    def create(self, name: str, slug: str | None = None) -> WorkspaceOut:
        return self._portal.run(self._inner.create(name, slug))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[WorkspaceOut]:
        return self._portal.run(self._inner.list(limit=limit, cursor=cursor))

    def iterate(self) -> Iterator[WorkspaceOut]:
        return self._portal.iterate(self._inner.iterate())

    def get(self, workspace_id: str) -> WorkspaceOut:
        return self._portal.run(self._inner.get(workspace_id))

    def update(
        self,
        workspace_id: str,
        *,
        name: str = UNSET,
        plan: str = UNSET,
        error_workflow_id: str | None = UNSET,
    ) -> WorkspaceOut:
        """Renames it, changes its plan (operators) or its default error workflow (None unsets it)."""
        return self._portal.run(
            self._inner.update(
                workspace_id,
                name=name,
                plan=plan,
                error_workflow_id=error_workflow_id,
            )
        )

    def delete(self, workspace_id: str) -> None:
        return self._portal.run(self._inner.delete(workspace_id))

    def members(
        self,
        workspace_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[MemberOut]:
        return self._portal.run(self._inner.members(workspace_id, limit=limit, cursor=cursor))

    def add_member(self, workspace_id: str, email: str, role: str = "MEMBER") -> MemberOut:
        return self._portal.run(self._inner.add_member(workspace_id, email, role))

    def update_member(self, workspace_id: str, user_id: str, role: str) -> MemberOut:
        return self._portal.run(self._inner.update_member(workspace_id, user_id, role))

    def remove_member(self, workspace_id: str, user_id: str) -> None:
        return self._portal.run(self._inner.remove_member(workspace_id, user_id))

    def audit_logs(
        self,
        workspace_id: str,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditLogOut]:
        return self._portal.run(
            self._inner.audit_logs(
                workspace_id,
                entity_type=entity_type,
                action=action,
                user_id=user_id,
                limit=limit,
                cursor=cursor,
            )
        )

    def analytics(self, workspace_id: str, *, since: date | None = None, until: date | None = None) -> Any:
        """Executions per day by status, durations, top failures, integration usage."""
        return self._portal.run(self._inner.analytics(workspace_id, since=since, until=until))

    def set_plan(self, workspace_id: str, plan: str) -> WorkspaceOut:
        """Operators only (an instance admin's token)."""
        return self._portal.run(self._inner.set_plan(workspace_id, plan))
