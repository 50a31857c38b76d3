"""The asynchronous client: every endpoint of the REST API (API.md), typed with the server's own models.

    async with AsyncClient("http://127.0.0.1:8000", token="bat_...") as baton:
        workspace = (await baton.workspaces.list()).items[0]
        async for run in baton.executions.iterate(workspace.id, status="FAILED"):
            print(run.id, run.error)

Answers of 400 and more raise ApiError subclasses (baton.client.errors) carrying the error body. A call
answered 429 or 503, or that could not reach Baton, is retried (up to `max_retries`, after Retry-After or
a growing pause) with the same `Idempotency-Key`, which the POSTs carry: a run started by a call whose
answer was lost is not started twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from api.schemas.accounts import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginBody,
    RegisterBody,
    TokenPair,
    UserOut,
)
from api.schemas.base import Page
from api.schemas.catalogue import IntegrationDetail, IntegrationOut, TemplateOut
from api.schemas.connections import ConnectionCreate, ConnectionOut, ConnectionTest, ConnectionUpdate
from api.schemas.webhooks import SchemeSet, WebhookOut, WebhookSecret
from api.schemas.workflows import (
    ApprovalOut,
    BackfillAccepted,
    BackfillBody,
    BulkReplayBody,
    BulkReplayOut,
    DecisionBody,
    ExecutionDetail,
    ExecutionOut,
    LogEntryOut,
    PauseBody,
    PublishBody,
    ResumeBody,
    RunBody,
    ScheduleOut,
    Timeline,
    UnpauseBody,
    VersionOut,
    WorkflowCreate,
    WorkflowExport,
    WorkflowImport,
    WorkflowOut,
    WorkflowUpdate,
)
from api.schemas.workspaces import (
    AuditLogOut,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceOut,
)
from baton.client.definition import StepLike, checked
from baton.client.errors import ApiError, InvalidInput, TransportError

M = TypeVar("M", bound=BaseModel)
DEFAULT_URL = "http://127.0.0.1:8000"
RETRIED = frozenset({429, 503})
UNSET: Any = object()  # a PATCH field left out (None would set it to null)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event of a run's stream: `type` (execution, step, log...), its data, its id (give it
    back as `last_event_id` to resume after it)."""

    type: str
    data: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class HookAnswer:
    """What `/hooks/{token}` answered: 202 with the execution id (async webhooks), or what the workflow's
    `respond` step sent (sync webhooks)."""

    status: int
    headers: httpx.Headers
    body: Any
    execution_id: str | None = field(default=None)


def _fields(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not UNSET}


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones, dates as ISO text, booleans as true/false."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = str(value).lower()
        out[key] = value
    return out


def body_of(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    """A request body checked with the server's own model: a bad field fails here, naming its path."""
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(422, "invalid_body", f"{path}: {first['msg']}", path) from None
    return parsed.model_dump(by_alias=True, mode="json", exclude_unset=True)


class Http:
    """Sends a call with retries, raises error answers, parses the good ones."""

    def __init__(self, client: httpx.AsyncClient, max_retries: int, backoff: float) -> None:
        self.client, self.max_retries, self.backoff = client, max_retries, backoff

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
        attempt = 0
        while True:
            try:
                response = await self.client.request(
                    method, path, json=json_body, params=params, headers=headers, content=content
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    url = f"{self.client.base_url}{path}"
                    raise TransportError(0, "unreachable", f"cannot reach Baton at {url}: {exc!r}") from exc
                await asyncio.sleep(self._pause(attempt, None))
                attempt += 1
                continue
            if response.status_code in RETRIED and attempt < self.max_retries:
                await response.aread()
                await asyncio.sleep(self._pause(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            if response.status_code >= 400:
                await response.aread()
                raise ApiError.from_response(response)
            return response

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        try:
            if retry_after is not None:
                return min(float(retry_after), 60.0)
        except ValueError:
            pass
        return min(self.backoff * 2.0**attempt, 8.0)

    async def model(self, kind: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.send(method, path, **kwargs)
        return kind.model_validate(response.json())

    async def page(self, item: type[M], path: str, params: dict[str, Any]) -> Page[M]:
        response = await self.send("GET", path, params=params)
        return Page[item].model_validate(response.json())  # type: ignore[valid-type]

    async def iterate(self, item: type[M], path: str, params: dict[str, Any]) -> AsyncIterator[M]:
        """Every item of a paginated list, page after page (following `nextCursor`)."""
        params = dict(params)
        while True:
            page = await self.page(item, path, params)
            for entry in page.items:
                yield entry
            if not page.next_cursor:
                return
            params["cursor"] = page.next_cursor

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.send(method, path, **kwargs)
        return response.json() if response.content else None


class Resource:
    def __init__(self, http: Http) -> None:
        self.http = http


def ws(workspace_id: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}"


class Auth(Resource):
    async def register(self, email: str, password: str, first_name: str, last_name: str) -> UserOut:
        body = body_of(
            RegisterBody, email=email, password=password, first_name=first_name, last_name=last_name
        )
        return await self.http.model(UserOut, "POST", "/api/v1/auth/register", json_body=body)

    async def login(self, email: str, password: str) -> TokenPair:
        """Logs in and uses the access token for the calls that follow (see `refresh`)."""
        body = body_of(LoginBody, email=email, password=password)
        tokens = await self.http.model(TokenPair, "POST", "/api/v1/auth/login", json_body=body)
        self.http.client.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return tokens

    async def refresh(self, refresh_token: str) -> TokenPair:
        tokens = await self.http.model(
            TokenPair, "POST", "/api/v1/auth/refresh", json_body={"refreshToken": refresh_token}
        )
        self.http.client.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return tokens

    async def verify_email(self, token: str) -> UserOut:
        return await self.http.model(UserOut, "POST", "/api/v1/auth/verify-email", json_body={"token": token})


class Me(Resource):
    async def get(self) -> UserOut:
        return await self.http.model(UserOut, "GET", "/api/v1/me")

    async def create_api_key(
        self, name: str, scopes: Sequence[str], expires_at: datetime | None = None
    ) -> ApiKeyCreated:
        """A new API key; its secret (`.key`) is in this answer only."""
        body = body_of(
            ApiKeyCreate, name=name, scopes=list(scopes), **_fields(expires_at=expires_at or UNSET)
        )
        return await self.http.model(ApiKeyCreated, "POST", "/api/v1/me/api-keys", json_body=body)

    async def api_keys(self, *, limit: int | None = None, cursor: str | None = None) -> Page[ApiKeyOut]:
        return await self.http.page(ApiKeyOut, "/api/v1/me/api-keys", _params(limit=limit, cursor=cursor))

    async def delete_api_key(self, key_id: str) -> None:
        await self.http.send("DELETE", f"/api/v1/me/api-keys/{key_id}")


class Workspaces(Resource):
    async def create(self, name: str, slug: str | None = None) -> WorkspaceOut:
        body = body_of(WorkspaceCreate, name=name, **_fields(slug=slug or UNSET))
        return await self.http.model(WorkspaceOut, "POST", "/api/v1/workspaces", json_body=body)

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[WorkspaceOut]:
        return await self.http.page(WorkspaceOut, "/api/v1/workspaces", _params(limit=limit, cursor=cursor))

    def iterate(self) -> AsyncIterator[WorkspaceOut]:
        return self.http.iterate(WorkspaceOut, "/api/v1/workspaces", {})

    async def get(self, workspace_id: str) -> WorkspaceOut:
        return await self.http.model(WorkspaceOut, "GET", ws(workspace_id))

    async def update(
        self,
        workspace_id: str,
        *,
        name: str = UNSET,
        plan: str = UNSET,
        error_workflow_id: str | None = UNSET,
    ) -> WorkspaceOut:
        """Renames it, changes its plan (operators) or its default error workflow (None unsets it)."""
        body = _fields(name=name, plan=plan, errorWorkflowId=error_workflow_id)
        return await self.http.model(WorkspaceOut, "PATCH", ws(workspace_id), json_body=body)

    async def delete(self, workspace_id: str) -> None:
        await self.http.send("DELETE", ws(workspace_id))

    async def members(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[MemberOut]:
        return await self.http.page(
            MemberOut, f"{ws(workspace_id)}/members", _params(limit=limit, cursor=cursor)
        )

    async def add_member(self, workspace_id: str, email: str, role: str = "MEMBER") -> MemberOut:
        body = body_of(MemberCreate, email=email, role=role)
        return await self.http.model(MemberOut, "POST", f"{ws(workspace_id)}/members", json_body=body)

    async def update_member(self, workspace_id: str, user_id: str, role: str) -> MemberOut:
        body = body_of(MemberUpdate, role=role)
        return await self.http.model(
            MemberOut, "PATCH", f"{ws(workspace_id)}/members/{user_id}", json_body=body
        )

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        await self.http.send("DELETE", f"{ws(workspace_id)}/members/{user_id}")

    async def audit_logs(
        self,
        workspace_id: str,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditLogOut]:
        params = _params(entityType=entity_type, action=action, userId=user_id, limit=limit, cursor=cursor)
        return await self.http.page(AuditLogOut, f"{ws(workspace_id)}/audit-logs", params)

    async def analytics(
        self, workspace_id: str, *, since: date | None = None, until: date | None = None
    ) -> Any:
        """Executions per day by status, durations, top failures, integration usage."""
        params = _params(**{"from": since, "to": until})
        return await self.http.json("GET", f"{ws(workspace_id)}/analytics", params=params)

    async def set_plan(self, workspace_id: str, plan: str) -> WorkspaceOut:
        """Operators only (an instance admin's token)."""
        return await self.http.model(
            WorkspaceOut, "PUT", f"/api/v1/admin/workspaces/{workspace_id}/plan", json_body={"plan": plan}
        )


class Catalogue(Resource):
    async def integrations(
        self,
        *,
        category: str | None = None,
        popular: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[IntegrationOut]:
        params = _params(category=category, popular=popular, limit=limit, cursor=cursor)
        return await self.http.page(IntegrationOut, "/api/v1/integrations", params)

    async def integration(self, integration_id: str) -> IntegrationDetail:
        """An integration with its triggers and actions, and their input JSON Schemas."""
        return await self.http.model(IntegrationDetail, "GET", f"/api/v1/integrations/{integration_id}")

    async def templates(self, *, limit: int | None = None, cursor: str | None = None) -> Page[TemplateOut]:
        return await self.http.page(TemplateOut, "/api/v1/templates", _params(limit=limit, cursor=cursor))

    async def template(self, template_id: str) -> TemplateOut:
        return await self.http.model(TemplateOut, "GET", f"/api/v1/templates/{template_id}")

    async def use_template(self, /, workspace_id: str, template_id: str, **body: Any) -> WorkflowOut:
        """A new workflow from a template (`connectionMap` and `name` may be given in `body`)."""
        path = f"{ws(workspace_id)}/templates/{template_id}/use"
        return await self.http.model(WorkflowOut, "POST", path, json_body=body)

    async def definition_schema(self) -> dict[str, Any]:
        """The JSON Schema of a workflow definition."""
        return dict(await self.http.json("GET", "/api/v1/definition-schema"))


class Connections(Resource):
    async def create(
        self,
        workspace_id: str,
        integration_id: str,
        name: str,
        credentials: dict[str, Any] | None = None,
        *,
        rate_limit: dict[str, Any] | None = None,
    ) -> ConnectionOut:
        body = body_of(
            ConnectionCreate,
            integration_id=integration_id,
            name=name,
            credentials=credentials or {},
            **_fields(rate_limit=rate_limit if rate_limit is not None else UNSET),
        )
        return await self.http.model(ConnectionOut, "POST", f"{ws(workspace_id)}/connections", json_body=body)

    async def list(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[ConnectionOut]:
        path = f"{ws(workspace_id)}/connections"
        return await self.http.page(ConnectionOut, path, _params(limit=limit, cursor=cursor))

    def iterate(self, workspace_id: str) -> AsyncIterator[ConnectionOut]:
        return self.http.iterate(ConnectionOut, f"{ws(workspace_id)}/connections", {})

    async def get(self, workspace_id: str, connection_id: str) -> ConnectionOut:
        return await self.http.model(ConnectionOut, "GET", f"{ws(workspace_id)}/connections/{connection_id}")

    async def update(
        self,
        workspace_id: str,
        connection_id: str,
        *,
        name: str = UNSET,
        credentials: dict[str, Any] = UNSET,
        is_active: bool = UNSET,
        rate_limit: dict[str, Any] | None = UNSET,
    ) -> ConnectionOut:
        body = body_of(
            ConnectionUpdate,
            **_fields(name=name, credentials=credentials, is_active=is_active, rate_limit=rate_limit),
        )
        path = f"{ws(workspace_id)}/connections/{connection_id}"
        return await self.http.model(ConnectionOut, "PATCH", path, json_body=body)

    async def delete(self, workspace_id: str, connection_id: str) -> None:
        await self.http.send("DELETE", f"{ws(workspace_id)}/connections/{connection_id}")

    async def test(self, workspace_id: str, connection_id: str) -> ConnectionTest:
        path = f"{ws(workspace_id)}/connections/{connection_id}/test"
        return await self.http.model(ConnectionTest, "POST", path)

    async def authorize_url(self, workspace_id: str, integration_id: str, name: str | None = None) -> str:
        """The OAuth2 consent URL to send a user's browser to (the callback creates the connection)."""
        path = f"{ws(workspace_id)}/connections/oauth/{integration_id}/authorize"
        answer = await self.http.json("GET", path, params=_params(name=name, redirect=False))
        return str(answer["authorizeUrl"])


class Workflows(Resource):
    async def create(
        self,
        workspace_id: str,
        name: str,
        trigger_type: str,
        steps: Sequence[StepLike] = (),
        *,
        trigger_config: dict[str, Any] | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        folder: str | None = None,
        connection_id: str | None = None,
        key: str | None = None,
        error_workflow_id: str | None = None,
        concurrency: dict[str, Any] | None = None,
        priority: int | None = None,
    ) -> WorkflowOut:
        """A new draft (publish it to run it). `steps` are dicts in DEFINITION.md's shape or step models
        (core.definition.steps.ActionStep...); they are checked here as the server checks them.
        `concurrency` ({"limit": 1, "key": "{{ trigger.body.customerId }}"}) and `priority` (1-5): see
        README's "Concurrency limits" and "Fair tenants and priorities"."""
        body = body_of(
            WorkflowCreate,
            name=name,
            trigger_type=trigger_type,
            trigger_config=trigger_config or {},
            steps=checked(trigger_type, trigger_config or {}, steps),
            **_fields(
                description=description or UNSET,
                folder=folder or UNSET,
                connection_id=connection_id or UNSET,
                tags=list(tags),
                key=key or UNSET,
                error_workflow_id=error_workflow_id or UNSET,
                concurrency=UNSET if concurrency is None else concurrency,
                priority=UNSET if priority is None else priority,
            ),
        )
        return await self.http.model(WorkflowOut, "POST", f"{ws(workspace_id)}/workflows", json_body=body)

    async def list(
        self,
        workspace_id: str,
        *,
        tag: str | None = None,
        key: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[WorkflowOut]:
        params = _params(tag=tag, key=key, limit=limit, cursor=cursor)
        return await self.http.page(WorkflowOut, f"{ws(workspace_id)}/workflows", params)

    def iterate(
        self, workspace_id: str, *, tag: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[WorkflowOut]:
        """Every workflow of the workspace, fetched `page_size` at a time (50 by default)."""
        params = _params(tag=tag, limit=page_size)
        return self.http.iterate(WorkflowOut, f"{ws(workspace_id)}/workflows", params)

    async def get(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        return await self.http.model(WorkflowOut, "GET", f"{ws(workspace_id)}/workflows/{workflow_id}")

    async def update(
        self,
        workspace_id: str,
        workflow_id: str,
        *,
        name: str = UNSET,
        description: str | None = UNSET,
        trigger_type: str = UNSET,
        trigger_config: dict[str, Any] = UNSET,
        steps: Sequence[StepLike] = UNSET,
        tags: Sequence[str] = UNSET,
        folder: str | None = UNSET,
        connection_id: str | None = UNSET,
        key: str | None = UNSET,
        error_workflow_id: str | None = UNSET,
        concurrency: dict[str, Any] | None = UNSET,
        priority: int | None = UNSET,
    ) -> WorkflowOut:
        """Changes the draft: only the fields given (`None` clears description, folder, connectionId,
        concurrency, priority)."""
        given_type = None if trigger_type is UNSET else trigger_type
        given_config = None if trigger_config is UNSET else trigger_config
        json_steps = checked(given_type, given_config, None if steps is UNSET else steps)
        body = body_of(
            WorkflowUpdate,
            **_fields(
                name=name,
                description=description,
                trigger_type=trigger_type,
                trigger_config=trigger_config,
                steps=UNSET if steps is UNSET else json_steps,
                tags=UNSET if tags is UNSET else list(tags),
                folder=folder,
                connection_id=connection_id,
                key=key,
                error_workflow_id=error_workflow_id,
                concurrency=concurrency,
                priority=priority,
            ),
        )
        path = f"{ws(workspace_id)}/workflows/{workflow_id}"
        return await self.http.model(WorkflowOut, "PATCH", path, json_body=body)

    async def delete(self, workspace_id: str, workflow_id: str) -> None:
        await self.http.send("DELETE", f"{ws(workspace_id)}/workflows/{workflow_id}")

    async def publish(
        self, workspace_id: str, workflow_id: str, change_description: str | None = None
    ) -> VersionOut:
        """Snapshots the draft as a new version and makes the workflow active (its trigger armed)."""
        body = body_of(PublishBody, **_fields(change_description=change_description or UNSET))
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/publish"
        return await self.http.model(VersionOut, "POST", path, json_body=body)

    async def activate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/activate"
        return await self.http.model(WorkflowOut, "POST", path)

    async def deactivate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/deactivate"
        return await self.http.model(WorkflowOut, "POST", path)

    async def duplicate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/duplicate"
        return await self.http.model(WorkflowOut, "POST", path)

    async def versions(
        self, workspace_id: str, workflow_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[VersionOut]:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/versions"
        return await self.http.page(VersionOut, path, _params(limit=limit, cursor=cursor))

    async def version(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/versions/{version}"
        return await self.http.model(VersionOut, "GET", path)

    async def restore(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut:
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/versions/{version}/restore"
        return await self.http.model(VersionOut, "POST", path)

    async def run(
        self,
        workspace_id: str,
        workflow_id: str,
        payload: Any = None,
        *,
        wait: bool = False,
        timeout_seconds: float | None = None,
        draft: bool = False,
        idempotency_key: str | None = None,
    ) -> ExecutionOut:
        """Starts a run with `payload` as its `trigger`; `wait=True` answers when it ended (or at the
        timeout). Retried calls carry the same Idempotency-Key: one run, however many tries."""
        body = body_of(RunBody, payload=payload if payload is not None else {})
        params = _params(wait=wait or None, timeoutSeconds=timeout_seconds, draft=draft or None)
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/run"
        return await self.http.model(
            ExecutionOut, "POST", path, json_body=body, params=params, idempotency_key=idempotency_key
        )

    async def schedule(self, workspace_id: str, workflow_id: str) -> ScheduleOut:
        """A SCHEDULE workflow's next slots and the runs its latest slots started."""
        return await self.http.model(
            ScheduleOut, "GET", f"{ws(workspace_id)}/workflows/{workflow_id}/schedule"
        )

    async def backfill(
        self,
        workspace_id: str,
        workflow_id: str,
        since: datetime,
        until: datetime,
        overlap: str | None = None,
    ) -> BackfillAccepted:
        """Runs the slots the schedule missed in [since, until) (overlap: skip, buffer_one, buffer_all,
        allow_all; default the schedule's)."""
        body = body_of(BackfillBody, **{"from": since, "to": until}, **_fields(overlap=overlap or UNSET))
        path = f"{ws(workspace_id)}/workflows/{workflow_id}/backfill"
        return await self.http.model(BackfillAccepted, "POST", path, json_body=body)

    async def export(self, workspace_id: str, workflow_id: str) -> WorkflowExport:
        return await self.http.model(
            WorkflowExport, "GET", f"{ws(workspace_id)}/workflows/{workflow_id}/export"
        )

    async def import_(
        self,
        workspace_id: str,
        workflow: WorkflowExport | dict[str, Any],
        connection_map: dict[str, str] | None = None,
    ) -> WorkflowOut:
        exported = (
            workflow.model_dump(by_alias=True, mode="json") if isinstance(workflow, BaseModel) else workflow
        )
        body = body_of(WorkflowImport, workflow=exported, connection_map=connection_map or {})
        return await self.http.model(
            WorkflowOut, "POST", f"{ws(workspace_id)}/workflows/import", json_body=body
        )


def _run_filters(
    workflow_id: str | None,
    status: str | None,
    state: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    return _params(workflowId=workflow_id, status=status, state=state, **{"from": since, "to": until})


class Executions(Resource):
    async def list(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ExecutionOut]:
        params = _run_filters(workflow_id, status, state, since, until) | _params(limit=limit, cursor=cursor)
        return await self.http.page(ExecutionOut, f"{ws(workspace_id)}/executions", params)

    def iterate(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[ExecutionOut]:
        """Every run matching the filters, newest first, fetched `page_size` at a time (50 by default)."""
        params = _run_filters(workflow_id, status, state, since, until) | _params(limit=page_size)
        return self.http.iterate(ExecutionOut, f"{ws(workspace_id)}/executions", params)

    async def get(self, workspace_id: str, execution_id: str) -> ExecutionDetail:
        """The run with its steps: rendered input (secrets redacted), output, attempts, timing, live state."""
        return await self.http.model(ExecutionDetail, "GET", f"{ws(workspace_id)}/executions/{execution_id}")

    async def timeline(self, workspace_id: str, execution_id: str) -> Timeline:
        path = f"{ws(workspace_id)}/executions/{execution_id}/timeline"
        return await self.http.model(Timeline, "GET", path)

    async def cancel(self, workspace_id: str, execution_id: str) -> ExecutionOut:
        path = f"{ws(workspace_id)}/executions/{execution_id}/cancel"
        return await self.http.model(ExecutionOut, "POST", path)

    async def retry(self, workspace_id: str, execution_id: str) -> ExecutionOut:
        """A new run with the same trigger data."""
        path = f"{ws(workspace_id)}/executions/{execution_id}/retry"
        return await self.http.model(ExecutionOut, "POST", path)

    async def resume(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        latest_version: bool = False,
        from_step: str | None = None,
        trigger_data: Any = UNSET,
        step_outputs: dict[str, Any] | None = None,
    ) -> ExecutionOut:
        """A new run from the failed step (or `from_step`), reusing the outputs of the steps that succeeded
        before it; `trigger_data` and `step_outputs` replace the failed run's trigger and earlier outputs."""
        path = f"{ws(workspace_id)}/executions/{execution_id}/resume"
        body = body_of(
            ResumeBody,
            latest_version=latest_version,
            **_fields(
                from_step=from_step or UNSET,
                trigger_data=trigger_data,
                step_outputs=UNSET if step_outputs is None else step_outputs,
            ),
        )
        return await self.http.model(ExecutionOut, "POST", path, json_body=body)

    async def pause(self, workspace_id: str, execution_id: str, reason: str | None = None) -> ExecutionOut:
        """Parks the run before its next step until `unpause`."""
        path = f"{ws(workspace_id)}/executions/{execution_id}/pause"
        body = body_of(PauseBody, **_fields(reason=reason or UNSET))
        return await self.http.model(ExecutionOut, "POST", path, json_body=body)

    async def unpause(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        step_input: dict[str, Any] | None = None,
        give_up: bool = False,
        latest_version: bool = False,
    ) -> ExecutionOut:
        """Lets a paused run go on; a step parked by onError "pause" is tried again (on `step_input`, or
        from it on the latest published version), or fails with `give_up`."""
        path = f"{ws(workspace_id)}/executions/{execution_id}/unpause"
        body = body_of(
            UnpauseBody,
            give_up=give_up,
            latest_version=latest_version,
            **_fields(step_input=UNSET if step_input is None else step_input),
        )
        return await self.http.model(ExecutionOut, "POST", path, json_body=body)

    async def replay_in_bulk(
        self,
        workspace_id: str,
        action: str = "retry",
        *,
        workflow_id: str | None = None,
        status: Sequence[str] = ("FAILED", "TIMEOUT"),
        since: datetime | None = None,
        until: datetime | None = None,
        error_contains: str | None = None,
        limit: int = 100,
        dry_run: bool = False,
        latest_version: bool = False,
    ) -> BulkReplayOut:
        """Retries (`action="retry"`) or resumes (`"resume"`) the runs that match, oldest first, at most
        `limit`, as a durable batch (`dry_run`: counts them and starts nothing); follow it with `batch`."""
        body = body_of(
            BulkReplayBody,
            status=list(status),
            limit=limit,
            dry_run=dry_run,
            latest_version=latest_version,
            **_fields(
                workflow_id=workflow_id or UNSET,
                since=since or UNSET,
                until=until or UNSET,
                error_contains=error_contains or UNSET,
            ),
        )
        path = f"{ws(workspace_id)}/executions/{action}"
        return await self.http.model(BulkReplayOut, "POST", path, json_body=body)

    async def batch(self, workspace_id: str, batch_id: str) -> BulkReplayOut:
        """A bulk retry's or resume's progress."""
        path = f"{ws(workspace_id)}/executions/batches/{batch_id}"
        return await self.http.model(BulkReplayOut, "GET", path)

    async def decide(
        self, workspace_id: str, execution_id: str, step_id: str, approved: bool, comment: str | None = None
    ) -> Any:
        """Approves or rejects the approval step `step_id` the run waits on."""
        body = body_of(DecisionBody, approved=approved, **_fields(comment=comment or UNSET))
        path = f"{ws(workspace_id)}/executions/{execution_id}/steps/{step_id}/decision"
        return await self.http.json("POST", path, json_body=body)

    async def logs(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        level: str | None = None,
        step_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[LogEntryOut]:
        """The run's log in time order (entries are written in batches: the newest may take a second)."""
        params = _params(level=level, stepId=step_id, limit=limit, cursor=cursor)
        path = f"{ws(workspace_id)}/executions/{execution_id}/logs"
        return await self.http.page(LogEntryOut, path, params)

    async def events(
        self, workspace_id: str, execution_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[Event]:
        """The run's live events (Server-Sent Events) until its final status: a new stream starts with the
        current status; with `last_event_id`, what happened after that event comes first."""
        path = f"{ws(workspace_id)}/executions/{execution_id}/events"
        async for event in self._stream(path, last_event_id):
            yield event

    async def workspace_events(self, workspace_id: str) -> AsyncIterator[Event]:
        """Every run's events in the workspace, live (the stream does not end by itself)."""
        async for event in self._stream(f"{ws(workspace_id)}/events", None):
            yield event

    async def _stream(self, path: str, last_event_id: str | None) -> AsyncIterator[Event]:
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        async with self.http.client.stream("GET", path, headers=headers, timeout=None) as response:
            if response.status_code >= 400:
                await response.aread()
                raise ApiError.from_response(response)
            async for event in parse_sse(response.aiter_lines()):
                yield event


class Approvals(Resource):
    async def list(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        limit: int | None = None,
    ) -> Page[ApprovalOut]:
        """The approvals runs wait on (pending by default; `status="decided"` or `"all"`)."""
        params = _params(status=status, workflowId=workflow_id, executionId=execution_id, limit=limit)
        return await self.http.page(ApprovalOut, f"{ws(workspace_id)}/approvals", params)

    async def link(self, token: str) -> Any:
        """What a signed approval link shows (its message, whether it is still open)."""
        return await self.http.json(
            "GET", f"/api/v1/approval-links/{token}", headers={"Accept": "application/json"}
        )

    async def decide_by_link(self, token: str, approved: bool) -> Any:
        body = {"approved": approved}
        return await self.http.json(
            "POST", f"/api/v1/approval-links/{token}", json_body=body, headers={"Accept": "application/json"}
        )


class Webhooks(Resource):
    async def list(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[WebhookOut]:
        """Each webhook workflow's URL, token and call stats."""
        return await self.http.page(
            WebhookOut, f"{ws(workspace_id)}/webhooks", _params(limit=limit, cursor=cursor)
        )

    async def rotate_secret(self, workspace_id: str, webhook_id: str) -> WebhookSecret:
        """A new signing secret (shown this once)."""
        return await self.http.model(
            WebhookSecret, "POST", f"{ws(workspace_id)}/webhooks/{webhook_id}/rotate-secret"
        )

    async def set_secret(self, workspace_id: str, webhook_id: str, scheme: str, secret: str) -> SchemeSet:
        """A sender's own signing secret and its scheme (standard, github, stripe, slack, baton-v1)."""
        body = {"scheme": scheme, "secret": secret}
        return await self.http.model(
            SchemeSet, "PUT", f"{ws(workspace_id)}/webhooks/{webhook_id}/secret", json_body=body
        )

    async def delete_secret(self, workspace_id: str, webhook_id: str) -> None:
        await self.http.send("DELETE", f"{ws(workspace_id)}/webhooks/{webhook_id}/secret")

    async def call(
        self,
        token: str,
        body: Any = None,
        *,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> HookAnswer:
        """Calls a webhook as its sender would (`/hooks/{token}`): the 202, or a sync workflow's answer."""
        sent = dict(headers or {})
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        content = json.dumps(body).encode() if body is not None else None
        if content is not None:
            sent.setdefault("Content-Type", "application/json")
        response = await self.http.send(
            method, f"/hooks/{token}", content=content, headers=sent, params=query
        )
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        return HookAnswer(
            response.status_code, response.headers, answer, response.headers.get("x-baton-execution-id")
        )


class Health(Resource):
    async def alive(self) -> bool:
        return (await self.http.send("GET", "/healthz")).status_code == 200

    async def ready(self) -> dict[str, Any]:
        """Whether PostgreSQL, Redis, Temporal and the log store answer (Unavailable if one does not)."""
        return dict(await self.http.json("GET", "/readyz"))


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Server-Sent Events from the stream's lines (comments and `retry:` skipped)."""
    kind: str = "message"
    event_id: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                payload = json.loads("\n".join(data))
                yield Event(kind, payload if isinstance(payload, dict) else {"value": payload}, event_id)
            kind, event_id, data = "message", None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


class AsyncClient:
    """Baton's REST API. `token`: an API key (`bat_...`) or a login access token (or call
    `auth.login(...)`). The resources: auth, me, workspaces, catalogue, connections, workflows,
    executions, approvals, webhooks, health."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "baton-client/0.1", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        http = Http(self._http, max_retries, backoff)
        self.auth = Auth(http)
        self.me = Me(http)
        self.workspaces = Workspaces(http)
        self.catalogue = Catalogue(http)
        self.connections = Connections(http)
        self.workflows = Workflows(http)
        self.executions = Executions(http)
        self.approvals = Approvals(http)
        self.webhooks = Webhooks(http)
        self.health = Health(http)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def wait_for(
        self,
        workspace_id: str,
        execution_id: str,
        until: Callable[[ExecutionDetail], bool] | None = None,
        *,
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> ExecutionDetail:
        """Polls a run until `until` holds (default: it ended); raises TimeoutError with its last state."""
        done = until or (lambda run: run.completed_at is not None)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            run = await self.executions.get(workspace_id, execution_id)
            if done(run):
                return run
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"run {execution_id} is still {run.status} after {timeout:.0f} s")
            await asyncio.sleep(interval)
