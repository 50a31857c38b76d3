"""Typed handles on the tables, for the statements that go through SQLAlchemy Core rather than the ORM (the
hot paths' single statements, bulk upserts): one per model, named as the table."""

from __future__ import annotations

from sqlalchemy import Table

from core.models.accounts import Workspace
from core.models.catalogue import Connection
from core.models.logs import AnalyticsDaily, AnalyticsEvent, ExecutionLog, IntegrationUsage
from core.models.operations import ConcurrencySlot, PollState, Webhook
from core.models.workflows import StepExecution, Workflow, WorkflowExecution, WorkflowVersion


def table_of(model: type[object]) -> Table:
    """The Core table of a SQLModel table class (SQLModel sets `__table__` without declaring it)."""
    found = vars(model).get("__table__")
    if not isinstance(found, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return found


WORKSPACES = table_of(Workspace)
CONNECTIONS = table_of(Connection)
WORKFLOWS = table_of(Workflow)
WORKFLOW_VERSIONS = table_of(WorkflowVersion)
WORKFLOW_EXECUTIONS = table_of(WorkflowExecution)
STEP_EXECUTIONS = table_of(StepExecution)
WEBHOOKS = table_of(Webhook)
POLL_STATES = table_of(PollState)
INTEGRATION_USAGE = table_of(IntegrationUsage)
EXECUTION_LOGS = table_of(ExecutionLog)
ANALYTICS_EVENTS = table_of(AnalyticsEvent)
ANALYTICS_DAILY = table_of(AnalyticsDaily)
CONCURRENCY_SLOTS = table_of(ConcurrencySlot)
