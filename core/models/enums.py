"""The seed's six enums, stored as PostgreSQL enum types with the seed's labels."""

from __future__ import annotations

from enum import StrEnum


class Plan(StrEnum):
    FREE = "FREE"
    STARTER = "STARTER"
    PROFESSIONAL = "PROFESSIONAL"
    ENTERPRISE = "ENTERPRISE"


class WorkspaceRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"


class AuthType(StrEnum):
    OAUTH2 = "OAUTH2"
    API_KEY = "API_KEY"
    BASIC = "BASIC"
    NONE = "NONE"


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class, despite the seed's name

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class TriggerType(StrEnum):
    WEBHOOK = "WEBHOOK"
    POLLING = "POLLING"
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"


class ExecutionStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"


# The status sets, once. A run that has ended:
TERMINAL_STATUSES = frozenset(
    {ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED, ExecutionStatus.TIMEOUT}
)
# A run that has not ended: not started yet, or going (waiting on a delay or an approval included).
OPEN_STATUSES = (ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value)
# A run that ended badly (the analytics' failures).
FAILED_STATUSES = frozenset({ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value})
# A step that ran to its end (its output or its error is final).
FINAL_STEP_STATUSES = (ExecutionStatus.SUCCESS.value, ExecutionStatus.FAILED.value)


# PostgreSQL type name of each enum (snake_case of the seed's name).
PG_ENUM_NAMES: dict[type[StrEnum], str] = {
    Plan: "plan",
    WorkspaceRole: "workspace_role",
    AuthType: "auth_type",
    TestStatus: "test_status",
    TriggerType: "trigger_type",
    ExecutionStatus: "execution_status",
}
