"""The Temporal side of schedules and polling triggers.

- `BatonScheduledRun` is what a workflow's Temporal Schedule starts on each tick. It prepares the run
  (lock, quota, PENDING row) in an activity, starts the interpreter as a child `run-{executionId}`, releases
  the lock, and waits for the run to end, so the schedule's overlap policy (skip, buffer one, allow all)
  applies to the user's runs.
- `BatonPoller` is the long-running poller of a POLLING workflow: poll, sleep the polling interval (or
  until poked), continue-as-new every POLLS_PER_RUN polls so its history stays small.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.triggers import TriggerActivities
from core.contract import (
    INTERPRETER_WORKFLOW,
    NAMED_RUN_TYPES_PATCH,
    POKE_SIGNAL,
    POLLER_WORKFLOW,
    SCHEDULED_RUN_WORKFLOW,
    TYPED_ACTIVITIES_PATCH,
    PollerInput,
    RunResult,
    ScheduledFire,
    TriggerRef,
    run_workflow_id,
    run_workflow_type,
)
from core.runs.handles import run_details, run_search_attributes, run_summary

SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
POLLS_PER_RUN = 100


@workflow.defn(name=SCHEDULED_RUN_WORKFLOW)
class BatonScheduledRun:
    @workflow.run
    async def run(self, fire: ScheduledFire) -> str:
        info = workflow.info()
        due = info.typed_search_attributes.get(SCHEDULED_START_TIME) or workflow.now()
        fire = replace(fire, scheduled_at=due.isoformat(), tick_id=info.workflow_id)
        decision = await workflow.execute_activity_method(
            TriggerActivities.schedule_fire,
            fire,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=10),
            summary="prepare the scheduled run",
        )
        if decision.run is None:
            return f"skipped: {decision.skipped}"
        run = decision.run
        named = workflow.patched(NAMED_RUN_TYPES_PATCH)  # the Web UI lists the run under its workflow's name
        try:
            child = await workflow.start_child_workflow(
                run_workflow_type(run.workflow_name) if named else INTERPRETER_WORKFLOW,
                run,
                id=run_workflow_id(run.execution_id),
                result_type=RunResult,
                search_attributes=run_search_attributes(run),
                static_summary=run_summary(run),
                static_details=run_details(run),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        finally:
            if workflow.patched(TYPED_ACTIVITIES_PATCH):
                await workflow.execute_local_activity_method(
                    TriggerActivities.release_schedule,
                    TriggerRef(fire.workflow_id),
                    start_to_close_timeout=timedelta(seconds=10),
                )
            else:
                await workflow.execute_local_activity_method(
                    TriggerActivities.schedule_release,
                    fire.workflow_id,
                    start_to_close_timeout=timedelta(seconds=10),
                )
        try:
            result = await child
        except ChildWorkflowError:
            return f"execution {run.execution_id} did not succeed"
        return f"execution {run.execution_id}: {result.status}"


@workflow.defn(name=POLLER_WORKFLOW)
class BatonPoller:
    def __init__(self) -> None:
        self._poked = False

    @workflow.signal(name=POKE_SIGNAL)
    def poke(self) -> None:
        """Poll now (sent when a new version is published, so its config applies at once)."""
        self._poked = True

    @workflow.run
    async def run(self, poller: PollerInput) -> str:
        polls = poller.polls
        while True:
            self._poked = False
            options: dict[str, Any] = {
                "start_to_close_timeout": timedelta(minutes=5),
                "retry_policy": RetryPolicy(
                    initial_interval=timedelta(seconds=5),
                    backoff_coefficient=2,
                    maximum_interval=timedelta(minutes=10),
                ),
                "summary": "poll",
            }
            if workflow.patched(TYPED_ACTIVITIES_PATCH):
                outcome = await workflow.execute_activity_method(
                    TriggerActivities.poll_trigger, TriggerRef(poller.workflow_id), **options
                )
            else:
                outcome = await workflow.execute_activity_method(
                    TriggerActivities.poll, poller.workflow_id, **options
                )
            polls += 1
            if not outcome.keep_polling:
                return f"stopped after {polls} polls: the workflow is no longer an active POLLING workflow"
            try:
                await workflow.wait_condition(
                    lambda: self._poked, timeout=timedelta(seconds=outcome.interval_seconds)
                )
            except TimeoutError:
                pass
            if polls - poller.polls >= POLLS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(PollerInput(poller.workflow_id, polls))
