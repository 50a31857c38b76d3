"""Request dependencies: the session (commits before the response is sent), the caller, scopes, workspace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowFailureError

from api.resources import Resources
from api.schemas.executions import ExecutionDetail, ExecutionOut, StepExecutionOut
from core.accounts import Principal, active_user, principal_for_api_key
from core.console_sessions import CSRF_HEADER, SESSION_COOKIE, ConsoleSessions
from core.contract import run_workflow_id
from core.errors import PermissionDenied, Unauthenticated
from core.models import StepExecution, WorkflowExecution, Workspace, WorkspaceRole
from core.permissions import Permission, allows
from core.runs import live, values
from core.runs import reads as execution_reads
from core.security import API_KEY_PREFIX, InvalidToken
from core.settings import Settings
from core.workspaces import membership, require


async def get_resources(request: Request) -> Resources:
    # async, as every dependency on a hot path: FastAPI runs a plain `def` dependency in a worker thread
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler succeeds, rolled back when it raises."""
    async with resources.sessions() as session:
        session.info["after_commit"] = []
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        for callback in session.info["after_commit"]:
            await callback()


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[Any]]) -> None:
    """Runs `callback` once this request's transaction has committed (e.g. to drop a cache entry)."""
    session.info.setdefault("after_commit", []).append(callback)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send `Authorization: Bearer <access token or API key>`")
    return token.strip()


def console_sessions(resources: Resources) -> ConsoleSessions:
    return ConsoleSessions(resources.settings, resources.signer, resources.redis, resources.keys)


async def current_principal(request: Request, session: SessionDep, resources: ResourcesDep) -> Principal:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and "authorization" not in request.headers:  # the console (a bearer token wins: no CSRF)
        user = await console_sessions(resources).user_of(
            session, cookie, request.method, request.headers.get(CSRF_HEADER)
        )
        return Principal(user)
    token = await bearer_token(request)
    if token.startswith(API_KEY_PREFIX):
        return await principal_for_api_key(session, token)
    try:
        claims = resources.signer.read(token, "access")
    except InvalidToken as exc:
        raise Unauthenticated(f"invalid access token ({exc}); log in again or refresh it") from exc
    return Principal(await active_user(session, claims["sub"]))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def scoped(scope: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets API keys through only when they carry `scope`."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has_scope(scope):
            raise PermissionDenied(f"this API key lacks the `{scope}` scope")
        return principal

    return check


class WorkspaceAccess:
    """The workspace in the path and the caller's role in it, checked (404 when not a member)."""

    def __init__(self, workspace: Workspace, role: WorkspaceRole, principal: Principal) -> None:
        self.workspace = workspace
        self.role = role
        self.principal = principal

    def may(self, permission: Permission, scope: str) -> bool:
        """Whether the caller could also do what `permission` and `scope` guard (to show what only they
        may see: a webhook's token to those who may edit its workflow)."""
        return allows(self.role, permission) and self.principal.has_scope(scope)

    @property
    def read_only(self) -> bool:
        """A VIEWER, or an API key with read scopes only."""
        scopes = self.principal.scopes
        return not allows(self.role, Permission.EDIT) or (
            scopes is not None and all(scope.endswith(":read") for scope in scopes)
        )


def workspace_access(
    permission: Permission, scope: str | None = None
) -> Callable[..., Coroutine[Any, Any, WorkspaceAccess]]:
    async def check(workspace_id: str, principal: PrincipalDep, session: SessionDep) -> WorkspaceAccess:
        workspace, role = await membership(session, workspace_id, principal.user)
        if scope is not None and not principal.has_scope(scope):
            raise PermissionDenied(f"this API key lacks the `{scope}` scope")
        require(role, permission)
        return WorkspaceAccess(workspace, role, principal)

    return check


def temporal_ui_url(settings: Settings, execution_id: str) -> str:
    """Where the run is in the Temporal Web UI."""
    return (
        f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}/workflows/"
        f"{run_workflow_id(execution_id)}"
    )


def value_link(workspace_id: str, execution_id: str) -> values.Link:
    """The URL that reads one of a run's values too large to inline (core.runs.values)."""
    return lambda ref: f"/api/v1/workspaces/{workspace_id}/executions/{execution_id}/values/{ref}"


def execution_out(
    execution: WorkflowExecution,
    resources: Resources,
    live: dict[str, Any] | None = None,
    workspace_id: str | None = None,
) -> ExecutionOut:
    """An execution as the API answers it (the executions and workflows routes); `live`: what it is doing
    (core.runs.reads.live_of), for one that has not ended. Its trigger and result past INLINE_VALUE_BYTES
    are references to read (core.runs.values; `workspace_id`: the run's, for their URLs)."""
    row = execution.model_dump()
    if workspace_id is not None:
        link = value_link(workspace_id, execution.id)
        row = values.shown_execution(row, resources.settings.inline_value_bytes, link)
    return ExecutionOut.model_validate(
        {**row, "live": live, "temporal_ui_url": temporal_ui_url(resources.settings, execution.id)}
    )


def steps_out(
    rows: list[StepExecution], resources: Resources, workspace_id: str, execution_id: str
) -> list[StepExecutionOut]:
    """A run's steps as the API answers them: inputs and outputs past INLINE_VALUE_BYTES referenced."""
    link, limit = value_link(workspace_id, execution_id), resources.settings.inline_value_bytes
    return [StepExecutionOut.model_validate(values.shown_step(r.model_dump(), limit, link)) for r in rows]


async def one_execution_out(
    session: AsyncSession, execution: WorkflowExecution, resources: Resources
) -> ExecutionOut:
    return (await executions_out(session, [execution], resources))[0]


async def one_execution_detail(
    session: AsyncSession, execution: WorkflowExecution, resources: Resources, workspace_id: str
) -> ExecutionDetail:
    """An execution with its steps; `live` from the same rows as `stepExecutions` (a row written between
    two reads cannot show in one only)."""
    rows = await execution_reads.steps(session, execution.id)
    status = str(execution.status.value if hasattr(execution.status, "value") else execution.status)
    slot = (await execution_reads.waiting_for_slots(session, [execution.id])).get(execution.id)
    shown = live.run_live(status, [r.model_dump() for r in rows if r.state is not None], slot)
    return ExecutionDetail.model_validate(
        {
            **execution_out(execution, resources, shown, workspace_id).model_dump(),
            "step_executions": steps_out(rows, resources, workspace_id, execution.id),
        }
    )


MAX_WAIT_SECONDS = 300  # the longest a request waits for the run it started (`?wait=true`)


async def started_run_out(
    session: AsyncSession,
    resources: Resources,
    workspace_id: str,
    execution_id: str,
    response: Response,
    *,
    wait: float | None,
    with_steps: bool = False,
) -> ExecutionOut:
    """The answer to a request that started a run: with `wait` (seconds), once it ended or the time is up;
    200 when it has ended, the route's 202 otherwise; `with_steps`: its steps too (a draft's run)."""
    if wait is not None:
        try:
            await asyncio.wait_for((await resources.run_service()).handle(execution_id).result(), wait)
        except (WorkflowFailureError, TimeoutError):
            pass  # the execution row says how it ended (or that it still runs)
    await session.commit()  # see the rows the run wrote since this request's transaction began
    execution = await execution_reads.get(session, workspace_id, execution_id)
    if execution.completed_at is not None:
        response.status_code = 200
    if with_steps:
        return await one_execution_detail(session, execution, resources, workspace_id)
    return await one_execution_out(session, execution, resources)


async def executions_out(
    session: AsyncSession, executions: list[WorkflowExecution], resources: Resources
) -> list[ExecutionOut]:
    """Executions with what each open one is doing (one query for them all)."""
    lives = await execution_reads.live_of(session, executions)
    workspaces = await values.workspaces_of(session, executions)
    return [execution_out(e, resources, lives.get(e.id), workspaces.get(e.workflow_id)) for e in executions]
