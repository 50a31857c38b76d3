"""Plans and the limits that come with them (the seed's `maxWorkflows`, `maxExecutions` per month)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.models import Plan


@dataclass(frozen=True)
class PlanLimits:
    max_workflows: int
    max_executions: int  # per calendar month
    execution_retention_days: int = 90  # the seed's default; finished runs older than this are removed


PLAN_LIMITS = {
    Plan.FREE: PlanLimits(5, 1_000),
    Plan.STARTER: PlanLimits(20, 10_000),
    Plan.PROFESSIONAL: PlanLimits(100, 100_000, 180),
    Plan.ENTERPRISE: PlanLimits(10_000, 10_000_000, 365),
}


def execution_retention_days(plan: Plan, overrides: dict[str, int]) -> int:
    """How long a plan keeps finished runs (EXECUTION_RETENTION_DAYS overrides the defaults)."""
    return overrides.get(plan.value, PLAN_LIMITS[plan].execution_retention_days)


def apply_plan(
    workspace: Any, plan: Plan, *, max_workflows: int | None = None, max_executions: int | None = None
) -> None:
    """Sets a workspace's plan and the limits that come with it (or the operator's own limits)."""
    limits = PLAN_LIMITS[plan]
    workspace.plan = plan
    workspace.max_workflows = limits.max_workflows if max_workflows is None else max_workflows
    workspace.max_executions = limits.max_executions if max_executions is None else max_executions
