"""The seed's PostgreSQL schema: 15 tables and 6 enums, as SQLModel tables (import them from here)."""

from core.models.accounts import ApiKey, User, Workspace, WorkspaceMember
from core.models.base import metadata
from core.models.catalogue import Action, Connection, Integration, Trigger
from core.models.datastore import DataStoreEntry
from core.models.enums import (
    PG_ENUM_NAMES,
    AuthType,
    ExecutionStatus,
    Plan,
    TestStatus,
    TriggerType,
    WorkspaceRole,
)
from core.models.imported import ImportedService
from core.models.logs import AnalyticsDaily, AnalyticsEvent, ExecutionLog, IntegrationUsage
from core.models.operations import AuditLog, ConcurrencySlot, PollState, Webhook, WorkflowTemplate
from core.models.workflows import StepExecution, Workflow, WorkflowExecution, WorkflowVersion

# Tables Baton adds to the seed's 15 (named here so schema checks can tell them apart): its own, and the
# seed's MongoDB collections in their PostgreSQL form.
BATON_TABLES = frozenset(
    {
        "poll_states",
        "integration_usage",
        "execution_logs",
        "analytics_events",
        "analytics_daily",
        "concurrency_slots",
        "data_store_entries",
        "imported_services",
    }
)
# Columns Baton adds to the seed's tables.
BATON_COLUMNS: dict[str, frozenset[str]] = {
    "connections": frozenset({"rate_limit", "connected_as"}),
    "webhooks": frozenset({"signature_scheme"}),
    "step_executions": frozenset({"state", "step_key", "sequence"}),
    "workflows": frozenset({"key", "error_workflow_id", "concurrency", "priority", "strict_expressions"}),
    "workspaces": frozenset({"error_workflow_id"}),
}

__all__ = [
    "BATON_COLUMNS",
    "BATON_TABLES",
    "PG_ENUM_NAMES",
    "Action",
    "AnalyticsDaily",
    "AnalyticsEvent",
    "ApiKey",
    "AuditLog",
    "AuthType",
    "ConcurrencySlot",
    "Connection",
    "DataStoreEntry",
    "ExecutionStatus",
    "ExecutionLog",
    "Integration",
    "ImportedService",
    "IntegrationUsage",
    "Plan",
    "PollState",
    "StepExecution",
    "TestStatus",
    "Trigger",
    "TriggerType",
    "User",
    "Webhook",
    "Workflow",
    "WorkflowExecution",
    "WorkflowTemplate",
    "WorkflowVersion",
    "WorkspaceRole",
    "Workspace",
    "WorkspaceMember",
    "metadata",
]
