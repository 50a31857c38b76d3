"""Workflows and their published versions: the storage logic behind /workspaces/{id}/workflows.

Every save validates the definition (JSON paths in errors) against the catalogue's action schemas and the
workspace's subworkflow call graph. Publishing snapshots the workflow into a WorkflowVersion, which is what
runs; editing afterwards only changes the draft.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import any_, func
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.definition.steps import WorkflowDefinition
from core.definition.triggers import Concurrency
from core.definition.validation import subworkflow_ids, validate_definition
from core.errors import Conflict, InvalidDefinition, LimitExceeded, NotFound
from core.models import Connection, User, Workflow, WorkflowVersion, Workspace
from core.paging import newest_first

# Re-exported: the workflow routes, the run service and the run records read them through this module.
from core.published import VersionToRun as VersionToRun
from core.published import definition_of as definition_of
from core.published import version_to_run as version_to_run

ActionSchemaLookup = Callable[[str], Mapping[str, Any] | None]
DEFINITION_FIELDS = ("trigger_type", "trigger_config", "steps")


async def _call_graph(session: AsyncSession, workspace_id: str) -> dict[str, list[str]]:
    """Which workflows each workflow of the workspace calls (draft and latest published steps)."""
    graph: dict[str, list[str]] = {}
    rows = (await session.exec(select(Workflow).where(Workflow.workspace_id == workspace_id))).all()
    for workflow in rows:
        try:
            definition = WorkflowDefinition.model_validate(definition_of(workflow))
        except ValueError:
            continue
        graph[workflow.id] = subworkflow_ids(definition)
    return graph


def checked_concurrency(value: Any) -> dict[str, Any] | None:
    """A workflow's `concurrency` as stored (camelCase), or None to clear it; InvalidDefinition naming the
    field otherwise."""
    if value is None:
        return None
    try:
        parsed = Concurrency.model_validate(value)
    except ValueError as exc:
        raise InvalidDefinition(f"concurrency: {exc}", path="concurrency") from exc
    return parsed.model_dump(by_alias=True, exclude_none=True)


async def validate_for_workspace(
    session: AsyncSession,
    workspace_id: str,
    definition: dict[str, Any],
    action_schema: ActionSchemaLookup,
    workflow_id: str | None,
    trigger_schema: ActionSchemaLookup | None = None,
) -> WorkflowDefinition:
    graph = await _call_graph(session, workspace_id)
    parsed = validate_definition(
        definition,
        action_schema=action_schema,
        workflow_id=workflow_id or "(new)",
        subworkflow_graph=graph,
        trigger_schema=trigger_schema,
    )
    for called in subworkflow_ids(parsed):
        if called not in graph:
            raise NotFound(f"the subworkflow {called} is not a workflow of this workspace", path="steps")
    return parsed


async def _check_connection(session: AsyncSession, workspace_id: str, connection_id: str | None) -> None:
    if connection_id is None:
        return
    connection = await session.get(Connection, connection_id)
    if connection is None or connection.workspace_id != workspace_id:
        raise NotFound(f"no connection {connection_id} in this workspace", path="connectionId")


async def _check_key(
    session: AsyncSession, workspace_id: str, key: str | None, workflow_id: str | None
) -> None:
    if key is None:
        return
    query = select(Workflow.id).where(Workflow.workspace_id == workspace_id, Workflow.key == key)
    holder = (await session.exec(query)).first()
    if holder is not None and holder != workflow_id:
        raise Conflict(f"the workflow {holder} already has the key {key!r} in this workspace", path="key")


async def check_error_workflow(
    session: AsyncSession, workspace_id: str, error_workflow_id: str | None, workflow_id: str | None
) -> None:
    """An error workflow is another workflow of the same workspace (a run never alerts itself)."""
    if error_workflow_id is None:
        return
    if error_workflow_id == workflow_id:
        raise Conflict("a workflow cannot be its own error workflow", path="errorWorkflowId")
    target = await session.get(Workflow, error_workflow_id)
    if target is None or target.workspace_id != workspace_id:
        raise NotFound(f"no workflow {error_workflow_id} in this workspace", path="errorWorkflowId")


async def count_workflows(session: AsyncSession, workspace_id: str) -> int:
    query = select(func.count()).where(Workflow.workspace_id == workspace_id)
    return int((await session.exec(query)).one())


async def create(
    session: AsyncSession,
    workspace: Workspace,
    user: User,
    fields: dict[str, Any],
    action_schema: ActionSchemaLookup,
    trigger_schema: ActionSchemaLookup | None = None,
) -> Workflow:
    if await count_workflows(session, workspace.id) >= workspace.max_workflows:
        raise LimitExceeded(
            f"the workspace has {workspace.max_workflows} workflows, its plan's limit (maxWorkflows); "
            "delete one or upgrade the plan"
        )
    definition = {k: fields[k] for k in ("triggerType", "triggerConfig", "steps")}
    parsed = await validate_for_workspace(
        session, workspace.id, definition, action_schema, None, trigger_schema
    )
    await _check_connection(session, workspace.id, fields.get("connectionId"))
    await _check_key(session, workspace.id, fields.get("key"), None)
    await check_error_workflow(session, workspace.id, fields.get("errorWorkflowId"), None)
    workflow = Workflow(
        workspace_id=workspace.id,
        user_id=user.id,
        name=fields["name"],
        description=fields.get("description"),
        trigger_type=parsed.trigger_type,
        trigger_config=definition["triggerConfig"],
        steps=definition["steps"],
        connection_id=fields.get("connectionId"),
        tags=fields.get("tags") or [],
        folder=fields.get("folder"),
        key=fields.get("key"),
        error_workflow_id=fields.get("errorWorkflowId"),
        concurrency=checked_concurrency(fields.get("concurrency")),
        priority=fields.get("priority"),
        strict_expressions=bool(fields.get("strictExpressions")),
    )
    session.add(workflow)
    await session.flush()
    return workflow


async def get(session: AsyncSession, workspace_id: str, workflow_id: str) -> Workflow:
    workflow = await session.get(Workflow, workflow_id)
    if workflow is None or workflow.workspace_id != workspace_id:
        raise NotFound("workflow not found")
    return workflow


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    *,
    limit: int,
    cursor: tuple[datetime, str] | None,
    tag: str | None = None,
    folder: str | None = None,
    active: bool | None = None,
    key: str | None = None,
) -> list[Workflow]:
    query = select(Workflow).where(Workflow.workspace_id == workspace_id)
    if key is not None:
        query = query.where(Workflow.key == key)
    if tag is not None:
        query = query.where(any_(col(Workflow.tags)) == tag)
    if folder is not None:
        query = query.where(Workflow.folder == folder)
    if active is not None:
        query = query.where(Workflow.is_active == active)
    query = newest_first(query, Workflow.created_at, Workflow.id, cursor, limit)
    return list((await session.exec(query)).all())


async def update(
    session: AsyncSession,
    workflow: Workflow,
    fields: dict[str, Any],
    action_schema: ActionSchemaLookup,
    trigger_schema: ActionSchemaLookup | None = None,
) -> Workflow:
    definition = {
        "triggerType": fields.get("triggerType", workflow.trigger_type.value),
        "triggerConfig": fields.get("triggerConfig", workflow.trigger_config),
        "steps": fields.get("steps", workflow.steps),
    }
    if {"triggerType", "triggerConfig", "steps"} & set(fields):
        parsed = await validate_for_workspace(
            session, workflow.workspace_id, definition, action_schema, workflow.id, trigger_schema
        )
        workflow.trigger_type = parsed.trigger_type
        workflow.trigger_config = definition["triggerConfig"]
        workflow.steps = definition["steps"]
        workflow.is_draft = True  # the draft differs from what runs until it is published
    if "connectionId" in fields:
        await _check_connection(session, workflow.workspace_id, fields["connectionId"])
        workflow.connection_id = fields["connectionId"]
    if "key" in fields:
        await _check_key(session, workflow.workspace_id, fields["key"], workflow.id)
        workflow.key = fields["key"]
    if "errorWorkflowId" in fields:
        await check_error_workflow(session, workflow.workspace_id, fields["errorWorkflowId"], workflow.id)
        workflow.error_workflow_id = fields["errorWorkflowId"]
    if "concurrency" in fields:  # applies to the runs that start from now on (not versioned)
        workflow.concurrency = checked_concurrency(fields["concurrency"])
    for name, column in (
        ("name", "name"),
        ("description", "description"),
        ("tags", "tags"),
        ("folder", "folder"),
        ("priority", "priority"),
        ("strictExpressions", "strict_expressions"),
    ):
        if name in fields:
            setattr(workflow, column, fields[name] if name != "tags" else (fields[name] or []))
    session.add(workflow)
    await session.flush()
    return workflow


async def latest_version_number(session: AsyncSession, workflow_id: str) -> int:
    query = select(func.max(WorkflowVersion.version)).where(WorkflowVersion.workflow_id == workflow_id)
    return int((await session.exec(query)).one() or 0)


async def publish(
    session: AsyncSession, workflow: Workflow, user: User, change_description: str | None
) -> WorkflowVersion:
    """Snapshots the draft as the next version; the workflow becomes active (its trigger armed)."""
    number = await latest_version_number(session, workflow.id) + 1
    version = WorkflowVersion(
        workflow_id=workflow.id,
        version=number,
        name=workflow.name,
        description=workflow.description,
        trigger_type=workflow.trigger_type,
        trigger_config=workflow.trigger_config,
        steps=workflow.steps,
        change_description=change_description,
        created_by=user.id,
    )
    session.add(version)
    workflow.version = number
    workflow.is_draft = False
    workflow.published_at = datetime.now(UTC)
    await set_active(session, workflow, True)
    await session.flush()
    return version


async def set_active(session: AsyncSession, workflow: Workflow, active: bool) -> Workflow:
    """Only the row: the caller arms or disarms the trigger (core.triggers.arming) once this has committed."""
    if active and workflow.published_at is None:
        raise Conflict("publish the workflow before activating it")
    workflow.is_active = active
    session.add(workflow)
    return workflow


async def versions(session: AsyncSession, workflow_id: str) -> list[WorkflowVersion]:
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(col(WorkflowVersion.version).desc())
    )
    return list((await session.exec(query)).all())


async def version(session: AsyncSession, workflow_id: str, number: int) -> WorkflowVersion:
    query = select(WorkflowVersion).where(
        WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == number
    )
    found = (await session.exec(query)).first()
    if found is None:
        raise NotFound(f"version {number} does not exist")
    return found


async def restore(session: AsyncSession, workflow: Workflow, number: int, user: User) -> WorkflowVersion:
    """Makes an old version current again, as a new version (history is never rewritten)."""
    old = await version(session, workflow.id, number)
    workflow.name, workflow.description = old.name, old.description
    workflow.trigger_type, workflow.trigger_config, workflow.steps = (
        old.trigger_type,
        old.trigger_config,
        old.steps,
    )
    return await publish(session, workflow, user, f"Restored version {number}")


DELETE_ATTEMPTS = 4


async def delete(session: AsyncSession, workflow: Workflow) -> None:
    """Deletes the workflow with its versions, executions and webhooks (the caller disarms its trigger).

    A run of it that ends meanwhile locks its execution row, then the workflow's counters; the cascade
    locks them the other way round, so PostgreSQL may abort one of the two as a deadlock. The delete is
    then tried again in its savepoint (its locks released, the run's transaction let through)."""
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        try:
            async with session.begin_nested():
                await session.delete(workflow)
            return
        except DBAPIError as exc:
            if "deadlock" not in str(exc).lower() or attempt == DELETE_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)


def map_connections(steps: list[Any], mapping: Mapping[str, str]) -> list[Any]:
    """Steps with every `connectionId` replaced through `mapping` (for imports into another workspace)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: (
                    mapping.get(item, item) if key == "connectionId" and isinstance(item, str) else walk(item)
                )
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    mapped: list[Any] = walk(steps)
    return mapped


def step_connection_ids(steps: list[Any]) -> list[tuple[str, str]]:
    """(JSON path, connection id) of every step that names a connection."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("connectionId"), str):
                found.append((f"{path}.connectionId", value["connectionId"]))
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(steps, "steps")
    return found


async def check_step_connections(session: AsyncSession, workspace_id: str, steps: list[Any]) -> None:
    for path, connection_id in step_connection_ids(steps):
        connection = await session.get(Connection, connection_id)
        if connection is None or connection.workspace_id != workspace_id:
            raise NotFound(
                f"no connection {connection_id} in this workspace (map it with `connectionMap`)", path=path
            )
