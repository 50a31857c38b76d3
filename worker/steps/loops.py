"""Loop and parallel steps: items and branches with bounded concurrency, and loop batches."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.contract import (
        INTERPRETER_WORKFLOW,
        LoopBatch,
        RunResult,
        run_workflow_id,
    )
    from core.definition.steps import (
        LoopStep,
        ParallelStep,
    )
    from core.models.enums import ExecutionStatus
    from worker.run_scope import Scope, StepFailed
    from worker.steps.context import StepContext, step_handler


@step_handler(LoopStep)
async def loop(ctx: StepContext, step: LoopStep) -> Any:
    items = ctx.evaluate(step.items, "items")
    if not isinstance(items, list):
        raise StepFailed(step.id, f"items must be a list, got {type(items).__name__}", "InvalidInput")
    if step.max_items is not None and len(items) > step.max_items:
        raise StepFailed(
            step.id, f"{len(items)} items is more than maxItems ({step.max_items})", "TooManyItems"
        )
    if len(items) > ctx.input.loop_batch_size and ctx.input.batch is None:
        results = await loop_in_batches(ctx, step, items)
    else:
        results = await loop_items(ctx, step, ctx.scope, items, 0)
    return {"results": results}


async def loop_items(
    ctx: StepContext, step: LoopStep, scope: Scope, items: list[Any], offset: int
) -> list[Any]:
    results: list[Any] = [None] * len(items)
    last_id = step.steps[-1].id
    last_scope: list[Scope] = []

    async def one(position: int) -> None:
        item_scope = scope.for_item(items[position], offset + position)
        await ctx.run_steps(step.steps, item_scope)
        results[position] = item_scope.output(last_id)
        if position == len(items) - 1:
            last_scope.append(item_scope)

    if step.concurrency == 1:
        for position in range(len(items)):
            await one(position)
    else:
        await bounded(step.concurrency, [one(position) for position in range(len(items))])
    if last_scope:  # after the loop, its inner steps read as their last item's outputs
        scope.steps.update(last_scope[0].steps)
    return results


async def loop_in_batches(ctx: StepContext, step: LoopStep, items: list[Any]) -> list[Any]:
    """A loop over more items than a run's history should hold: child runs of `loop_batch_size` items."""
    await ctx.flush()
    results: list[Any] = []
    size = ctx.input.loop_batch_size
    for offset in range(0, len(items), size):
        batch = LoopBatch(
            loop_path=ctx.key,
            items=items[offset : offset + size],
            offset=offset,
            scope_outputs=ctx.scope.outputs(),
            scope_vars=ctx.scope.vars,
            iteration_path=ctx.scope.iteration,
            loop_step=step.model_dump(by_alias=True, exclude_none=True),
        )
        child: RunResult = await workflow.execute_child_workflow(
            INTERPRETER_WORKFLOW,
            replace(ctx.input, batch=batch, reused_outputs={}, resume_at=0),
            id=f"{run_workflow_id(ctx.input.execution_id)}-{ctx.key.replace('/', '.')}-{offset}",
            result_type=RunResult,
            static_summary=f"{step.label}: items {offset}-{offset + len(batch.items) - 1}",
        )
        results.extend(child.results or [])
    return results


async def run_batch(ctx: StepContext, batch: LoopBatch) -> RunResult:
    """A child run of `loop_in_batches`: its items of the loop `ctx.step`, in the scope the loop had."""
    step: LoopStep = ctx.step
    try:
        results = await loop_items(ctx, step, ctx.scope, batch.items, batch.offset)
    except StepFailed as failure:
        await ctx.flush()
        raise ApplicationError(failure.message, type=failure.error_type, non_retryable=True) from None
    await ctx.flush()
    return RunResult(status=ExecutionStatus.SUCCESS.value, results=results)


@step_handler(ParallelStep)
async def parallel(ctx: StepContext, step: ParallelStep) -> Any:
    branch_scopes = [ctx.scope.for_branch() for _ in step.branches]
    tasks = [
        asyncio.create_task(ctx.run_steps(branch, branch_scope))
        for branch, branch_scope in zip(step.branches, branch_scopes, strict=True)
    ]
    await all_or_first_failure(tasks)
    for branch_scope in branch_scopes:
        ctx.scope.merge(branch_scope)
    return {"branches": [task.result() for task in tasks]}


async def bounded(limit: int, coroutines: list[Any]) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def guarded(coroutine: Any) -> None:
        async with semaphore:
            await coroutine

    await all_or_first_failure([asyncio.create_task(guarded(c)) for c in coroutines])


async def all_or_first_failure(tasks: list[asyncio.Task[Any]]) -> None:
    """Waits for every task; on the first failure cancels the rest, waits for them, re-raises it."""
    done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = [task for task in done if task.exception() is not None]
    if failed:
        for task in pending:
            task.cancel()
        if pending:
            await workflow.wait(pending)
        raise failed[0].exception()  # type: ignore[misc]
