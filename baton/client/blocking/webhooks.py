"""The blocking Approvals, Webhooks, Health: generated from baton/client/resources/webhooks.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from typing import Any

from api.schemas.base import Page
from api.schemas.executions import ApprovalOut
from api.schemas.webhooks import SchemeSet, WebhookOut, WebhookSecret
from baton.client.portal import Blocking
from baton.client.resources import webhooks as aio
from baton.client.transport import HookAnswer


class Approvals(Blocking[aio.Approvals]):
    def list(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        limit: int | None = None,
    ) -> Page[ApprovalOut]:
        """The approvals runs wait on (pending by default; `status="decided"` or `"all"`)."""
        return self._portal.run(
            self._inner.list(
                workspace_id,
                status=status,
                workflow_id=workflow_id,
                execution_id=execution_id,
                limit=limit,
            )
        )

    def link(self, token: str) -> Any:
        """What a signed approval link shows (its message, whether it is still open)."""
        return self._portal.run(self._inner.link(token))

    def decide_by_link(self, token: str, approved: bool) -> Any:
        return self._portal.run(self._inner.decide_by_link(token, approved))


class Webhooks(Blocking[aio.Webhooks]):
    def list(
        self,
        workspace_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[WebhookOut]:
        """Each webhook workflow's URL, token and call stats."""
        return self._portal.run(self._inner.list(workspace_id, limit=limit, cursor=cursor))

    def rotate_secret(self, workspace_id: str, webhook_id: str) -> WebhookSecret:
        """A new signing secret (shown this once)."""
        return self._portal.run(self._inner.rotate_secret(workspace_id, webhook_id))

    def set_secret(self, workspace_id: str, webhook_id: str, scheme: str, secret: str) -> SchemeSet:
        """A sender's own signing secret and its scheme (standard, github, stripe, slack, baton-v1)."""
        return self._portal.run(self._inner.set_secret(workspace_id, webhook_id, scheme, secret))

    def delete_secret(self, workspace_id: str, webhook_id: str) -> None:
        return self._portal.run(self._inner.delete_secret(workspace_id, webhook_id))

    def call(
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
        return self._portal.run(
            self._inner.call(
                token,
                body,
                method=method,
                headers=headers,
                query=query,
                idempotency_key=idempotency_key,
            )
        )


class Health(Blocking[aio.Health]):
    def alive(self) -> bool:
        return self._portal.run(self._inner.alive())

    def ready(self) -> dict[str, Any]:
        """Whether PostgreSQL, Redis, Temporal and the log store answer (Unavailable if one does not)."""
        return self._portal.run(self._inner.ready())
