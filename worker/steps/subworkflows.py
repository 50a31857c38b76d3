"""Subworkflow steps: a child run of another workflow's published version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from core.contract import (
        CURRENT_ENGINE,
        INTERPRETER_WORKFLOW,
        MAX_SUBWORKFLOW_DEPTH,
        NAMED_RUN_TYPES_PATCH,
        TYPED_ACTIVITIES_PATCH,
        PublishedVersion,
        RunInput,
        RunResult,
        VersionRequest,
        run_workflow_id,
        run_workflow_type,
    )
    from core.definition.steps import (
        SubworkflowStep,
    )
    from core.runs.waits import SubworkflowWait
    from worker.run_scope import StepFailed
    from worker.run_state import LIVE_WAITS_PATCH, RECORD_TIMEOUT, to_retry_policy
    from worker.steps.context import StepContext, step_handler


@step_handler(SubworkflowStep)
async def subworkflow(ctx: StepContext, step: SubworkflowStep) -> Any:
    if ctx.input.depth + 1 > MAX_SUBWORKFLOW_DEPTH:
        raise StepFailed(step.id, f"subworkflows nest deeper than {MAX_SUBWORKFLOW_DEPTH}", "TooDeep")
    data = ctx.render(step.input, "input")
    child_execution: str | None = None
    wait: SubworkflowWait | None = None
    if ctx.patched(LIVE_WAITS_PATCH):  # the child's id is known before the row that names it
        child_execution = str(workflow.uuid4())
        wait = SubworkflowWait(child_execution_id=child_execution, workflow_id=step.workflow_id)
        ctx.waits(wait)
    try:
        return await child_run(ctx, step, data, child_execution)
    finally:
        if wait is not None:
            ctx.waited(wait)


async def child_run(ctx: StepContext, step: SubworkflowStep, data: Any, child_execution: str | None) -> Any:
    await ctx.flush()
    if ctx.patched(TYPED_ACTIVITIES_PATCH):
        published = await workflow.execute_activity_method(
            RecordActivities.published_version,
            VersionRequest(step.workflow_id),
            start_to_close_timeout=RECORD_TIMEOUT,
        )
    else:
        version: dict[str, Any] = await workflow.execute_activity_method(
            RecordActivities.load_published_version,
            step.workflow_id,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        published = PublishedVersion(
            step.workflow_id, version["workspaceId"], version["version"], version["definition"]
        )
    if child_execution is None:
        child_execution = str(workflow.uuid4())
    named = ctx.patched(NAMED_RUN_TYPES_PATCH)  # the Web UI lists the child under its workflow's name
    child: RunResult = await workflow.execute_child_workflow(
        run_workflow_type(published.name) if named else INTERPRETER_WORKFLOW,
        RunInput(
            execution_id=child_execution,
            workflow_id=step.workflow_id,
            workspace_id=published.workspace_id,
            version=published.version,
            definition=published.definition,
            trigger_data=data,
            trigger_type="SUBWORKFLOW",
            depth=ctx.input.depth + 1,
            workflow_name=published.name,
            record=ctx.input.record,
            loop_batch_size=ctx.input.loop_batch_size,
            engine=CURRENT_ENGINE,  # a new workflow: it takes today's paths
            value_limit=ctx.input.value_limit,  # the limit its parent started with
        ),
        id=run_workflow_id(child_execution),
        result_type=RunResult,
        retry_policy=to_retry_policy(step.retry) if step.retry else None,
        execution_timeout=timedelta(seconds=step.timeout_seconds) if step.timeout_seconds else None,
        static_summary=(
            f"{published.name or step.workflow_id} v{published.version} · subworkflow of {step.label}"
        ),
        static_details=f"Started by step `{step.id}` of execution `{ctx.input.execution_id}`",
    )
    return child.result
