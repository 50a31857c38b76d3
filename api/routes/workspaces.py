"""Workspaces and their members, with the role matrix (VIEWER < MEMBER < ADMIN < OWNER)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlmodel import select

from api.audit import AuditorDep
from api.deps import (
    PrincipalDep,
    ResourcesDep,
    SessionDep,
    WorkspaceAccess,
    after_commit,
    scoped,
    workspace_access,
)
from api.errors import error_responses
from api.pagination import Cursor, Limit, decode_cursor, page
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
from core import audit
from core.accounts import Principal
from core.models import Plan, User, Workflow, Workspace, WorkspaceMember, WorkspaceRole
from core.permissions import Permission
from core.plans import apply_plan
from core.runs import forget_plan, open_execution_ids
from core.workflows import check_error_workflow
from core.workspaces import (
    OperatorOnly,
    add_member,
    change_plan,
    change_role,
    create_workspace,
    is_instance_admin,
    members,
    remove_member,
    require,
    workspaces_of,
)

router = APIRouter(prefix="/workspaces", tags=["workspaces"])
ERRORS = error_responses(401, 403, 404, 409, 422)
ADMIN_SCOPE = "workspaces:admin"

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ))]
Manager = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.MANAGE, ADMIN_SCOPE))]
Owner = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.OWN, ADMIN_SCOPE))]
Admin = Annotated[Principal, Depends(scoped(ADMIN_SCOPE))]


def _out(workspace: Workspace, role: WorkspaceRole) -> WorkspaceOut:
    return WorkspaceOut.model_validate({**workspace.model_dump(), "role": role})


def _member_out(member: WorkspaceMember, user: User, *, email: bool = True) -> MemberOut:
    return MemberOut(
        user_id=user.id,
        email=user.email if email else None,
        first_name=user.first_name,
        last_name=user.last_name,
        role=member.role,
        created_at=member.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkspaceOut, responses=ERRORS)
async def create(
    body: WorkspaceCreate,
    principal: Admin,
    session: SessionDep,
    auditor: AuditorDep,
    resources: ResourcesDep,
) -> WorkspaceOut:
    """Create a workspace; you become its OWNER. A slug is generated from the name when absent."""
    workspace = await create_workspace(
        session, principal.user, name=body.name, slug=body.slug, plan=Plan(resources.settings.default_plan)
    )
    return await _audited(session, auditor, principal, workspace, "workspace.created")


@router.get("", response_model=Page[WorkspaceOut], responses=ERRORS)
async def list_mine(principal: PrincipalDep, session: SessionDep) -> Page[WorkspaceOut]:
    return Page(items=[_out(w, role) for w, role in await workspaces_of(session, principal.user)])


@router.get("/{workspace_id}", response_model=WorkspaceOut, responses=ERRORS)
async def get(access: Reader) -> WorkspaceOut:
    return _out(access.workspace, access.role)


@router.patch("/{workspace_id}", response_model=WorkspaceOut, responses=ERRORS)
async def update(
    body: WorkspaceUpdate, access: Manager, session: SessionDep, auditor: AuditorDep, resources: ResourcesDep
) -> WorkspaceOut:
    """ADMIN and OWNER rename. The plan (and the limits it sets) is the instance operator's: only an
    OWNER who is also one of INSTANCE_ADMINS changes it here (see PUT /admin/workspaces/{id}/plan)."""
    workspace = access.workspace
    before = _out(workspace, access.role)
    if body.name is not None:
        workspace.name = body.name
    if "error_workflow_id" in body.model_fields_set:
        await check_error_workflow(session, workspace.id, body.error_workflow_id, None)
        workspace.error_workflow_id = body.error_workflow_id
    if body.plan is not None and body.plan != workspace.plan:
        require(access.role, Permission.OWN)
        if not is_instance_admin(access.principal.user, resources.settings.instance_admins):
            raise OperatorOnly(
                "plans and limits are set by the instance operator (`baton plan WORKSPACE PLAN`, or an "
                "instance admin named in INSTANCE_ADMINS)",
                path="plan",
            )
        forget_plan(workspace.id)
        apply_plan(workspace, body.plan)
    session.add(workspace)
    await session.flush()
    await session.refresh(workspace)
    out = _out(workspace, access.role)
    await auditor.in_workspace(
        access, "workspace.updated", "workspace", workspace.id, before=before, after=out
    )
    return out


@router.delete("/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete(access: Owner, session: SessionDep, auditor: AuditorDep, resources: ResourcesDep) -> None:
    """Delete the workspace and everything it owns (workflows, runs, connections, members); its runs in flight
    are cancelled, its schedules and pollers are removed from Temporal and its webhook URLs stop answering."""
    before = _out(access.workspace, access.role)
    workflow_ids = list(
        (await session.exec(select(Workflow.id).where(Workflow.workspace_id == access.workspace.id))).all()
    )
    tokens = await resources.webhooks.tokens_of(await session.connection(), *workflow_ids)
    after_commit(session, lambda: resources.webhooks.forget(*tokens))
    after_commit(session, lambda: resources.arm(*workflow_ids))
    in_flight = await open_execution_ids(await session.connection(), workflow_ids)
    after_commit(session, lambda: resources.cancel_runs(*in_flight))
    await session.delete(access.workspace)
    await auditor.record(
        "workspace.deleted",
        principal=access.principal,
        entity_type="workspace",
        entity_id=before.id,
        workspace_id=before.id,
        before=before,
    )


@router.get("/{workspace_id}/members", response_model=Page[MemberOut], responses=ERRORS)
async def list_members(access: Reader, session: SessionDep) -> Page[MemberOut]:
    """The workspace's members and roles. Emails go to callers who may change something in the workspace:
    read-only callers (VIEWERs, keys without a write scope) see their own email only."""
    return Page(
        items=[
            _member_out(m, u, email=not access.read_only or u.id == access.principal.user.id)
            for m, u in await members(session, access.workspace.id)
        ]
    )


@router.post(
    "/{workspace_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut, responses=ERRORS
)
async def add(body: MemberCreate, access: Manager, session: SessionDep, auditor: AuditorDep) -> MemberOut:
    member, user = await add_member(
        session, access.workspace.id, email=body.email, role=body.role, caller_role=access.role
    )
    out = _member_out(member, user)
    await auditor.in_workspace(access, "member.added", "member", user.id, after=out)
    return out


@router.patch("/{workspace_id}/members/{user_id}", response_model=MemberOut, responses=ERRORS)
async def change(
    user_id: str, body: MemberUpdate, access: Manager, session: SessionDep, auditor: AuditorDep
) -> MemberOut:
    member = await change_role(session, access.workspace.id, user_id, body.role, access.role)
    await auditor.in_workspace(
        access,
        "member.role_changed",
        "member",
        user_id,
        after={"role": body.role.value},
    )
    user = await session.get(User, user_id)
    assert user is not None
    return _member_out(member, user)


@router.delete("/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def remove(user_id: str, access: Reader, session: SessionDep, auditor: AuditorDep) -> None:
    """Remove a member (ADMIN, OWNER), or leave the workspace yourself; the last OWNER cannot leave."""
    await remove_member(
        session, access.workspace.id, user_id, caller=access.principal.user, caller_role=access.role
    )
    await auditor.in_workspace(access, "member.removed", "member", user_id)


@router.get("/{workspace_id}/audit-logs", response_model=Page[AuditLogOut], responses=ERRORS)
async def audit_logs(
    access: Manager,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    entity_type: Annotated[str | None, Query(alias="entityType")] = None,
    action: str | None = None,
    user_id: Annotated[str | None, Query(alias="userId")] = None,
) -> Page[AuditLogOut]:
    """Who changed what in this workspace, newest first (ADMIN and OWNER)."""
    rows = await audit.list_page(
        session,
        access.workspace.id,
        limit=limit,
        cursor=decode_cursor(cursor),
        entity_type=entity_type,
        action=action,
        user_id=user_id,
    )
    items, next_cursor = page(rows, limit)
    return Page(
        items=[AuditLogOut.model_validate({**r.model_dump(), "metadata": r.metadata_}) for r in items],
        next_cursor=next_cursor,
    )


async def _audited(
    session: SessionDep, auditor: AuditorDep, principal: Principal, workspace: Workspace, action: str
) -> WorkspaceOut:
    """The workspace as its OWNER sees it, after `action`, recorded in the audit log."""
    await session.refresh(workspace)
    out = _out(workspace, WorkspaceRole.OWNER)
    await auditor.record(
        action,
        principal=principal,
        entity_type="workspace",
        entity_id=workspace.id,
        workspace_id=workspace.id,
        after=out,
    )
    return out


admin_router = APIRouter(prefix="/admin", tags=["instance administration"])


@admin_router.put("/workspaces/{workspace_id}/plan", response_model=WorkspaceOut, responses=ERRORS)
async def set_plan(
    workspace_id: str,
    body: PlanChange,
    principal: PrincipalDep,
    session: SessionDep,
    auditor: AuditorDep,
    resources: ResourcesDep,
) -> WorkspaceOut:
    """Set any workspace's plan and limits. Only the instance admins named in INSTANCE_ADMINS may; the
    operator's other way is `baton plan WORKSPACE PLAN` on the server."""
    if not is_instance_admin(principal.user, resources.settings.instance_admins):
        raise OperatorOnly("only an instance admin (INSTANCE_ADMINS) may set plans and limits")
    workspace = await change_plan(
        session,
        workspace_id,
        body.plan,
        max_workflows=body.max_workflows,
        max_executions=body.max_executions,
    )
    forget_plan(workspace.id)
    return await _audited(session, auditor, principal, workspace, "workspace.plan_changed")
