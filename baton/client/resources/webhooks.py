"""Webhooks (their URLs, secrets, and calling one as its sender would), signed approval links, health."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

import json
from typing import Any

from api.schemas.base import Page
from api.schemas.executions import ApprovalOut
from api.schemas.webhooks import SchemeSet, SecretIn, WebhookOut, WebhookSecret
from baton.client.endpoints import API, JSON, RAW, WS, Resource, endpoint, fill
from baton.client.transport import HookAnswer

WEBHOOK = WS + "/webhooks/{webhook_id}"
AS_JSON = {"Accept": "application/json"}  # the link's page answers HTML to browsers


class Approvals(Resource):
    @endpoint(
        "GET", WS + "/approvals", Page[ApprovalOut], query=("status", "workflow_id", "execution_id", "limit")
    )
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

    @endpoint("GET", API + "/approval-links/{token}", JSON, headers=AS_JSON)
    async def link(self, token: str) -> Any:
        """What a signed approval link shows (its message, whether it is still open)."""

    @endpoint("POST", API + "/approval-links/{token}", JSON, body=RAW, headers=AS_JSON)
    async def decide_by_link(self, token: str, approved: bool) -> Any: ...


class Webhooks(Resource):
    @endpoint("GET", WS + "/webhooks", Page[WebhookOut], query=("limit", "cursor"))
    async def list(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[WebhookOut]:
        """Each webhook workflow's URL, token and call stats."""

    @endpoint("POST", WEBHOOK + "/rotate-secret", WebhookSecret)
    async def rotate_secret(self, workspace_id: str, webhook_id: str) -> WebhookSecret:
        """A new signing secret (shown this once)."""

    @endpoint("PUT", WEBHOOK + "/secret", SchemeSet, body=SecretIn)
    async def set_secret(self, workspace_id: str, webhook_id: str, scheme: str, secret: str) -> SchemeSet:
        """A sender's own signing secret and its scheme (standard, github, stripe, slack, baton-v1)."""

    @endpoint("DELETE", WEBHOOK + "/secret")
    async def delete_secret(self, workspace_id: str, webhook_id: str) -> None: ...

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
        path = fill("/hooks/{token}", token=token)
        response = await self.http.send(method, path, content=content, headers=sent, params=query)
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

    @endpoint("GET", "/readyz", JSON)
    async def ready(self) -> dict[str, Any]:
        """Whether PostgreSQL, Redis, Temporal and the log store answer (Unavailable if one does not)."""
