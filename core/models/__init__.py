"""The seed's PostgreSQL schema: 15 tables and 6 enums, as SQLModel tables (import them from here)."""

from core.models.accounts import ApiKey, User, Workspace, WorkspaceMember
from core.models.base import metadata
from core.models.catalogue import Action, Connection, Integration, Trigger
from core.models.enums import (
    PG_ENUM_NAMES,
    AuthType,
    ExecutionStatus,
    Plan,
    TestStatus,
    TriggerType,
    WorkspaceRole,
)
from core.models.operations import AuditLog, Webhook, WorkflowTemplate
from core.models.workflows import StepExecution, Workflow, WorkflowExecution, WorkflowVersion

__all__ = [
    "PG_ENUM_NAMES",
    "Action",
    "ApiKey",
    "AuditLog",
    "AuthType",
    "Connection",
    "ExecutionStatus",
    "Integration",
    "Plan",
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
