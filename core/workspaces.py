"""Workspaces and their members: the storage logic behind /workspaces (tenant isolation starts here)."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts import find_user_by_email
from core.errors import Conflict, NotFound, PermissionDenied
from core.models import Plan, User, Workspace, WorkspaceMember, WorkspaceRole
from core.permissions import Permission, allows
from core.plans import apply_plan

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    return slug or "workspace"


async def _slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.exec(select(Workspace.id).where(Workspace.slug == slug))).first() is not None


async def create_workspace(
    session: AsyncSession, owner: User, *, name: str, slug: str | None, plan: Plan = Plan.FREE
) -> Workspace:
    if slug is not None:
        if not SLUG_PATTERN.match(slug):
            raise Conflict("a slug is lowercase letters, digits and inner dashes (1-64)", path="slug")
        if await _slug_taken(session, slug):
            raise Conflict(f"the slug {slug!r} is taken", path="slug")
    else:
        slug = slugify(name)
        while await _slug_taken(session, slug):
            slug = f"{slugify(name)[:40]}-{secrets.token_hex(3)}"
    workspace = Workspace(name=name, slug=slug)
    apply_plan(workspace, plan)
    session.add(workspace)
    await session.flush()
    session.add(WorkspaceMember(workspace_id=workspace.id, user_id=owner.id, role=WorkspaceRole.OWNER))
    await session.flush()
    return workspace


async def workspaces_of(session: AsyncSession, user: User) -> list[tuple[Workspace, WorkspaceRole]]:
    query = (
        select(Workspace, WorkspaceMember.role)
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(WorkspaceMember.user_id == user.id)
        .order_by(col(Workspace.created_at))
    )
    return [(workspace, WorkspaceRole(role)) for workspace, role in (await session.exec(query)).all()]


async def membership(session: AsyncSession, workspace_id: str, user: User) -> tuple[Workspace, WorkspaceRole]:
    """The workspace and the caller's role; any workspace the caller is not in is "not found"."""
    query = (
        select(Workspace, WorkspaceMember.role)
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(Workspace.id == workspace_id, WorkspaceMember.user_id == user.id)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound("workspace not found")
    return row[0], WorkspaceRole(row[1])


def require(role: WorkspaceRole, permission: Permission) -> None:
    if not allows(role, permission):
        raise PermissionDenied(f"your role ({role.value}) cannot do this; it needs {permission.value} rights")


async def members(session: AsyncSession, workspace_id: str) -> list[tuple[WorkspaceMember, User]]:
    query = (
        select(WorkspaceMember, User)
        .join(User, col(User.id) == col(WorkspaceMember.user_id))
        .where(WorkspaceMember.workspace_id == workspace_id)
        .order_by(col(WorkspaceMember.created_at))
    )
    return [(member, user) for member, user in (await session.exec(query)).all()]


async def _member(session: AsyncSession, workspace_id: str, user_id: str) -> WorkspaceMember:
    query = select(WorkspaceMember).where(
        WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id
    )
    member = (await session.exec(query)).first()
    if member is None:
        raise NotFound("no such member in this workspace")
    return member


async def _owner_count(session: AsyncSession, workspace_id: str) -> int:
    query = select(func.count()).where(
        WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == WorkspaceRole.OWNER
    )
    return int((await session.exec(query)).one())


async def add_member(
    session: AsyncSession, workspace_id: str, *, email: str, role: WorkspaceRole, caller_role: WorkspaceRole
) -> tuple[WorkspaceMember, User]:
    if role is WorkspaceRole.OWNER:
        require(caller_role, Permission.OWN)
    user = await find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no account with the email {email}; ask them to register first", path="email")
    existing = (
        await session.exec(
            select(WorkspaceMember).where(
                WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user.id
            )
        )
    ).first()
    if existing is not None:
        raise Conflict("this user is already a member", path="email")
    member = WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role=role)
    session.add(member)
    await session.flush()
    return member, user


async def change_role(
    session: AsyncSession, workspace_id: str, user_id: str, role: WorkspaceRole, caller_role: WorkspaceRole
) -> WorkspaceMember:
    member = await _member(session, workspace_id, user_id)
    if WorkspaceRole.OWNER in (role, member.role):
        require(caller_role, Permission.OWN)
    if member.role is WorkspaceRole.OWNER and role is not WorkspaceRole.OWNER:
        await _keep_an_owner(session, workspace_id)
    member.role = role
    session.add(member)
    return member


async def remove_member(
    session: AsyncSession, workspace_id: str, user_id: str, *, caller: User, caller_role: WorkspaceRole
) -> None:
    member = await _member(session, workspace_id, user_id)
    if user_id != caller.id:
        require(caller_role, Permission.MANAGE)
    if member.role is WorkspaceRole.OWNER:
        if user_id != caller.id:
            require(caller_role, Permission.OWN)
        await _keep_an_owner(session, workspace_id)
    await session.delete(member)


async def _keep_an_owner(session: AsyncSession, workspace_id: str) -> None:
    if await _owner_count(session, workspace_id) <= 1:
        raise Conflict("a workspace needs an owner: make someone else OWNER first")


class OperatorOnly(PermissionDenied):
    kind = "operator_only"


def is_instance_admin(user: User, instance_admins: list[str]) -> bool:
    """Named in INSTANCE_ADMINS by account id, or by an email address the account has verified: anyone can
    register an address (in any letter case), only its owner can verify it."""
    named = {entry.strip().lower() for entry in instance_admins}
    if user.id.lower() in named:
        return True
    return user.email_verified and user.email.strip().lower() in named


async def change_plan(
    session: AsyncSession,
    workspace_id: str,
    plan: Plan,
    *,
    max_workflows: int | None = None,
    max_executions: int | None = None,
) -> Workspace:
    """The instance operator sets a workspace's plan (and, optionally, limits of its own)."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        workspace = (await session.exec(select(Workspace).where(Workspace.slug == workspace_id))).first()
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id!r}", path="workspaceId")
    apply_plan(workspace, plan, max_workflows=max_workflows, max_executions=max_executions)
    session.add(workspace)
    await session.flush()
    return workspace
