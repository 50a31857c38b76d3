"""A workspace's analytics over a range of days: runs per day by status, durations per workflow, what fails
most, and how its integrations are used (from the log store: raw events, then daily aggregates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from core.analytics import AGGREGATE_DAYS, report, rows_between
from core.errors import BatonError
from core.models import Workflow
from core.permissions import Permission

router = APIRouter(prefix="/workspaces/{workspace_id}/analytics", tags=["analytics"])
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
DEFAULT_DAYS = 30


class InvalidRange(BatonError):
    status_code = 422
    kind = "validation_error"


@router.get("", responses=error_responses(401, 403, 404, 422))
async def analytics(
    access: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    since: Annotated[
        date | None,
        Query(alias="from", description="First day (UTC, YYYY-MM-DD); default: 29 days before `to`"),
    ] = None,
    until: Annotated[
        date | None, Query(alias="to", description="Last day, included (UTC); default: today")
    ] = None,
) -> dict[str, Any]:
    """Executions per day by status, p50/p95 duration per workflow (within 5 %), the workflows and steps
    that fail most, each integration's calls and error rate, and each model's calls, tokens and cost
    (`models`, from the llm.* actions). Days older than 30 are read from daily
    aggregates, kept for a year; the newest runs may take a second to count."""
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidRange("`from` must be on or before `to`", path="from")
    if (until - since).days >= AGGREGATE_DAYS + 1:
        raise InvalidRange(f"a range spans at most {AGGREGATE_DAYS + 1} days", path="from")
    rows = await rows_between(resources.log_store, access.workspace.id, since, until)
    found = await session.exec(
        select(Workflow.id, Workflow.name).where(Workflow.workspace_id == access.workspace.id)
    )
    names: dict[str, str] = dict(found.all())
    return report(rows, since, until, names)
