"""Instance-operator commands on the database (`baton plan`)."""

from __future__ import annotations

from core.db import create_engine, session_factory
from core.errors import NotFound
from core.models import Plan
from core.settings import Settings
from core.workspaces import change_plan


async def set_plan(
    settings: Settings,
    workspace: str,
    plan: str,
    max_workflows: int | None,
    max_executions: int | None,
) -> str:
    """Sets the plan and answers a line saying what the workspace may now do."""
    try:
        chosen = Plan(plan)
    except ValueError:
        raise ValueError(f"unknown plan {plan!r}; choose one of {', '.join(p.value for p in Plan)}") from None
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            try:
                changed = await change_plan(
                    session, workspace, chosen, max_workflows=max_workflows, max_executions=max_executions
                )
            except NotFound as exc:
                raise ValueError(f"{exc.detail}; `baton plan` takes a workspace id or slug") from None
            await session.commit()
            return (
                f"{changed.slug}: plan {changed.plan}, at most {changed.max_workflows:,} workflows and "
                f"{changed.max_executions:,} runs a month"
            )
    finally:
        await engine.dispose()
