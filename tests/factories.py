"""Small factories for rows tests need (a user, a workspace, a workflow with a published version) and for
the steps of their definitions."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg


async def create_user(db: asyncpg.Connection, email: str | None = None) -> str:
    return str(
        await db.fetchval(
            "INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'h', 'Ada', 'L') "
            "RETURNING id",
            email or f"{uuid.uuid4().hex[:10]}@example.com",
        )
    )


async def create_workspace(db: asyncpg.Connection, slug: str | None = None) -> str:
    return str(
        await db.fetchval(
            "INSERT INTO workspaces (name, slug) VALUES ('Acme', $1) RETURNING id",
            slug or uuid.uuid4().hex[:12],
        )
    )


async def create_workflow(
    db: asyncpg.Connection,
    steps: list[Any],
    *,
    workspace_id: str | None = None,
    user_id: str | None = None,
    trigger_type: str = "MANUAL",
    trigger_config: dict[str, Any] | None = None,
    publish: bool = True,
) -> str:
    """A workflow row and, when `publish`, its version 1 (what subworkflow steps run)."""
    user_id = user_id or await create_user(db)
    workspace_id = workspace_id or await create_workspace(db)
    workflow_id = str(
        await db.fetchval(
            "INSERT INTO workflows (workspace_id, user_id, name, trigger_type, trigger_config, steps, "
            "is_draft) VALUES ($1, $2, 'wf', $3, $4, $5, $6) RETURNING id",
            workspace_id,
            user_id,
            trigger_type,
            json.dumps(trigger_config or {}),
            json.dumps(steps),
            not publish,
        )
    )
    if publish:
        await db.execute(
            "INSERT INTO workflow_versions (workflow_id, version, name, trigger_type, trigger_config, steps, "
            "created_by) VALUES ($1, 1, 'wf', $2, $3, $4, $5)",
            workflow_id,
            trigger_type,
            json.dumps(trigger_config or {}),
            json.dumps(steps),
            user_id,
        )
    return workflow_id


def action_step(
    step_id: str, action: str, data: dict[str, Any], connection: str | None = None, **more: Any
) -> dict[str, Any]:
    """An `action` step calling `action` with `data` as its input (through `connection` when given); `more`
    are its other fields (retry, timeoutSeconds, ...)."""
    step: dict[str, Any] = {"id": step_id, "type": "action", "action": action, "input": data, **more}
    if connection is not None:
        step["connectionId"] = connection
    return step
