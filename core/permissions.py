"""Who may do what in a workspace: roles are ordered, each permission needs a least role."""

from __future__ import annotations

from enum import StrEnum

from core.models import WorkspaceRole

ROLE_RANK = {WorkspaceRole.VIEWER: 0, WorkspaceRole.MEMBER: 1, WorkspaceRole.ADMIN: 2, WorkspaceRole.OWNER: 3}


class Permission(StrEnum):
    READ = "read"  # see everything in the workspace
    EDIT = "edit"  # create, change and run workflows; decide approvals
    MANAGE = "manage"  # connections and members
    OWN = "own"  # plan, deletion, owners


LEAST_ROLE = {
    Permission.READ: WorkspaceRole.VIEWER,
    Permission.EDIT: WorkspaceRole.MEMBER,
    Permission.MANAGE: WorkspaceRole.ADMIN,
    Permission.OWN: WorkspaceRole.OWNER,
}


def allows(role: WorkspaceRole, permission: Permission) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[LEAST_ROLE[permission]]


API_KEY_SCOPES = frozenset({
    "workflows:read", "workflows:write", "executions:read", "executions:write", "connections:read",
    "connections:write", "workspaces:admin", "data:read", "data:write",
})  # fmt: skip
