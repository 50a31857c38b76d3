"""Temporal's side of runs: what the Temporal Web UI shows of a run (its summary, its details, its search
attributes), cancelling a run (escalating to a termination when it does not stop) and runs in bulk."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.common import Priority, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.contract import CANCEL_WORKFLOW, CancelRequest, RunInput, cancel_workflow_id, run_workflow_id
from core.temporal import TRIGGER_TYPE, WORKFLOW_ID, WORKFLOW_VERSION, WORKSPACE_ID


async def cancel_run(client: Client, execution_id: str, *, task_queue: str, grace_seconds: float) -> None:
    """Asks the run to stop, and starts its BatonCancel: `grace_seconds` later, a run that has not ended (a
    run whose workflow task keeps failing never receives the request) is terminated and recorded CANCELLED;
    a run Temporal had closed already gets its true end recorded at once. A second cancel of the same run
    joins the first one's escalation."""
    try:
        await client.get_workflow_handle(run_workflow_id(execution_id)).cancel()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # not found: Temporal closed it, the row says otherwise
            raise
        grace_seconds = 0
    try:
        await client.start_workflow(
            CANCEL_WORKFLOW,
            CancelRequest(execution_id, grace_seconds),
            id=cancel_workflow_id(execution_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"cancels run-{execution_id}: terminated if still going after {grace_seconds:g} s",
        )
    except WorkflowAlreadyStartedError:
        pass


async def cancel_runs(client: Client, execution_ids: Sequence[str], *, at_once: int = 20) -> int:
    """Asks Temporal to cancel each run (those of a workflow being deleted: nothing should call a service for
    a workflow that is gone). A run that already ended, or never started, is skipped. Returns how many runs
    took the request."""
    gate = asyncio.Semaphore(at_once)

    async def cancel(execution_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(run_workflow_id(execution_id)).cancel()
            except RPCError:  # not found, or already ended
                return False
            return True

    return sum(await asyncio.gather(*(cancel(execution_id) for execution_id in execution_ids)))


def run_search_attributes(run: RunInput) -> TypedSearchAttributes:
    """The four search attributes every run carries, so the Temporal Web UI can filter by them."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(WORKSPACE_ID, run.workspace_id),
            SearchAttributePair(WORKFLOW_ID, run.workflow_id),
            SearchAttributePair(WORKFLOW_VERSION, run.version),
            SearchAttributePair(TRIGGER_TYPE, run.trigger_type),
        ]
    )


def run_priority(run: RunInput, priority: int | None, *, fair: bool = True) -> Priority:
    """The run's place in the task queue: its workflow's priority (1 first to 5 last; unset, Temporal's
    default 3) and, with `fair` (TEMPORAL_FAIRNESS), its workspace as fairness key, so the tasks of one
    priority are handed out round-robin across workspaces (one workspace's burst cannot starve the others).
    Its activities and child runs inherit both."""
    return Priority(priority_key=priority, fairness_key=run.workspace_id if fair else None)


def run_summary(run: RunInput) -> str:
    """The run's line in the Temporal Web UI's list: `Greet new signups v3 · webhook`."""
    name = run.workflow_name or f"workflow {run.workflow_id}"
    trigger = run.trigger_type.lower().replace("_", " ")
    test = " · test run" if run.trigger_type == "TEST" else ""
    return f"{name} v{run.version} · {trigger}{test}"


def run_details(run: RunInput) -> str:
    """The run's details pane (markdown): which workflow, version, trigger and workspace, then where the
    trigger data and the definition are (the input pane holds them: `trigger_data`, then `definition`)."""
    return "\n".join(
        [
            f"**Workflow** {run.workflow_name or '(unnamed)'} (`{run.workflow_id}`)",
            f"**Version** {run.version}",
            f"**Trigger** {run.trigger_type.lower()}",
            f"**Workspace** `{run.workspace_id}`",
            f"**Execution** `{run.execution_id}`",
            "",
            "The input holds the trigger data (`trigger_data`) and the definition that runs (`definition`).",
        ]
    )
