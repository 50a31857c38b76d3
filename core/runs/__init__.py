"""Runs: starting them (`starts`), acting on them under way (`control`), replaying them (`replays`), the
`service` that holds the three, and the one owner of their rows, `workflow_executions` and
`step_executions` (`rows`)."""

from core.runs.control import SyncReply
from core.runs.handles import cancel_runs, run_search_attributes
from core.runs.rows import ExecutionRows, open_execution_ids
from core.runs.service import RunService
from core.runs.starts import StartedRun, StartRequest, WorkflowCache, forget_plan

__all__ = [
    "ExecutionRows",
    "RunService",
    "StartRequest",
    "StartedRun",
    "SyncReply",
    "WorkflowCache",
    "cancel_runs",
    "forget_plan",
    "open_execution_ids",
    "run_search_attributes",
]
