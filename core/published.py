"""What runs and what triggers see of a workflow: its latest (or a given) published version and its trigger.

These reads run outside any request (activities, the trigger arming, the webhook ingress), on a bare
connection, so they live apart from the workflow use cases of core.workflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import Workflow, WorkflowVersion
from core.models.tables import table_of


@dataclass(frozen=True)
class PublishedTrigger:
    workspace_id: str
    is_active: bool
    trigger_type: str | None  # of the latest published version; None before the first publish
    trigger_config: dict[str, Any]
    name: str = ""  # the workflow's


async def published_trigger(connection: AsyncConnection, workflow_id: str) -> PublishedTrigger | None:
    """The workflow's state as its trigger sees it (None when the workflow is gone): one query shared by the
    arming, the webhook ingress and the trigger activities."""
    workflows = table_of(Workflow)
    versions = table_of(WorkflowVersion)
    others = versions.alias("others")
    latest = (
        core_select(func.max(others.c.version))
        .where(others.c.workflow_id == workflows.c.id)
        .scalar_subquery()
    )
    query = (
        core_select(
            workflows.c.workspace_id,
            workflows.c.is_active,
            workflows.c.name,
            versions.c.trigger_type,
            versions.c.trigger_config,
        )
        .select_from(
            workflows.outerjoin(
                versions, and_(versions.c.workflow_id == workflows.c.id, versions.c.version == latest)
            )
        )
        .where(workflows.c.id == workflow_id)
    )
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    return PublishedTrigger(
        row.workspace_id,
        row.is_active,
        str(row.trigger_type) if row.trigger_type is not None else None,
        dict(row.trigger_config or {}),
        row.name,
    )


@dataclass(frozen=True)
class VersionToRun:
    workflow_id: str
    workspace_id: str
    version: int
    definition: dict[str, Any]
    name: str = ""  # the workflow's
    priority: int | None = None  # the workflow's (workflows.priority): its runs' task queue priority


async def version_to_run(
    connection: AsyncConnection, workflow_id: str, version: int | None = None
) -> VersionToRun | None:
    """The published version a run of the workflow runs: `version`, or the latest one (None when there is
    none). The one answer to "what runs": API starts, webhook calls, schedules and subworkflow steps."""
    versions = table_of(WorkflowVersion)
    workflows = table_of(Workflow)
    query = (
        core_select(
            versions,
            workflows.c.workspace_id,
            workflows.c.name.label("workflow_name"),
            workflows.c.concurrency,
            workflows.c.priority,
            workflows.c.strict_expressions,
        )
        .join(workflows, workflows.c.id == versions.c.workflow_id)
        .where(versions.c.workflow_id == workflow_id)
    )
    if version is not None:
        query = query.where(versions.c.version == version)
    row = (await connection.execute(query.order_by(versions.c.version.desc()).limit(1))).first()
    if row is None:
        return None
    return VersionToRun(
        workflow_id, row.workspace_id, row.version, definition_of(row), row.workflow_name, row.priority
    )


def definition_of(source: Any) -> dict[str, Any]:
    """The definition (DEFINITION.md's shape) held by a Workflow or WorkflowVersion, model or row, with the
    workflow's `concurrency` and `strictExpressions` when the source has them (a version's row joined with
    its workflow's)."""
    definition = {
        "triggerType": str(source.trigger_type),
        "triggerConfig": source.trigger_config,
        "steps": source.steps,
    }
    concurrency = getattr(source, "concurrency", None)
    if concurrency:
        definition["concurrency"] = concurrency
    if getattr(source, "strict_expressions", False):
        definition["strictExpressions"] = True
    return definition
