"""The MCP tools a workspace serves: its active workflows whose latest published version has a MANUAL
trigger with `mcp.tool` (core.definition.triggers.McpServing), each with its input schema and description.

Read per request (a published or deactivated workflow shows or leaves at once); a key of one workspace only
ever reads that workspace's workflows, by the `workspace_id` the API checked its membership of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import Workflow, WorkflowVersion
from core.models.tables import table_of

OPEN_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
RESULT_TOOL = "get_run_result"


@dataclass(frozen=True)
class ServedTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    workflow_id: str
    wait_seconds: float


def tool_name(workflow_name: str) -> str:
    words = re.findall(r"[a-z0-9]+", workflow_name.lower())
    return ("_".join(words) or "workflow")[:64]


async def served_tools(connection: AsyncConnection, workspace_id: str) -> list[ServedTool]:
    """The workspace's tools by name; two workflows wanting one name: the later ones get their id's start."""
    workflows, versions = table_of(Workflow), table_of(WorkflowVersion)
    latest = (
        select(versions.c.workflow_id, versions.c.trigger_type, versions.c.trigger_config, workflows.c.name)
        .join(workflows, workflows.c.id == versions.c.workflow_id)
        .where(workflows.c.workspace_id == workspace_id, workflows.c.is_active.is_(True))
        .order_by(versions.c.workflow_id, versions.c.version.desc())
        .ext(distinct_on(versions.c.workflow_id))
    )
    tools: dict[str, ServedTool] = {}
    for row in (await connection.execute(latest)).all():
        config = row.trigger_config or {}
        mcp = config.get("mcp") if isinstance(config, dict) else None
        if getattr(row.trigger_type, "value", row.trigger_type) != "MANUAL":
            continue
        if not isinstance(mcp, dict) or not mcp.get("tool", True):
            continue
        name = mcp.get("name") or tool_name(row.name)
        if name in tools or name == RESULT_TOOL:
            name = f"{name[:55]}_{row.workflow_id[:8]}"
        tools[name] = ServedTool(
            name=name,
            description=mcp.get("description") or f"Runs the workflow {row.name!r}",
            input_schema=config.get("inputSchema") or OPEN_OBJECT,
            workflow_id=row.workflow_id,
            wait_seconds=float(mcp.get("waitSeconds", 20)),
        )
    return sorted(tools.values(), key=lambda t: t.name)
