"""Plans and the limits that come with them (the seed's `maxWorkflows`, `maxExecutions` per month)."""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Plan


@dataclass(frozen=True)
class PlanLimits:
    max_workflows: int
    max_executions: int  # per calendar month


PLAN_LIMITS = {
    Plan.FREE: PlanLimits(5, 1_000),
    Plan.STARTER: PlanLimits(20, 10_000),
    Plan.PROFESSIONAL: PlanLimits(100, 100_000),
    Plan.ENTERPRISE: PlanLimits(10_000, 10_000_000),
}
