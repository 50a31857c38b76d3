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
from worker.run_state import RunState, StepCall


class LoopSteps(RunState):
    async def _loop_step(self, call: StepCall) -> Any:
        step: LoopStep = call.step
        scope, key = call.scope, call.key
        return await self._loop(step, scope, key)

    async def _parallel_step(self, call: StepCall) -> Any:
        step: ParallelStep = call.step
        scope = call.scope
        return await self._parallel(step, scope)

    async def _loop(self, step: LoopStep, scope: Scope, key: str) -> Any:
        assert self._input is not None
        items = self._evaluate(step.items, scope, f"step {step.id!r} items")
        if not isinstance(items, list):
            raise StepFailed(step.id, f"items must be a list, got {type(items).__name__}", "InvalidInput")
        if step.max_items is not None and len(items) > step.max_items:
            raise StepFailed(
                step.id, f"{len(items)} items is more than maxItems ({step.max_items})", "TooManyItems"
            )
        if len(items) > self._input.loop_batch_size and self._input.batch is None:
            results = await self._loop_in_batches(step, scope, key, items)
        else:
            results = await self._loop_items(step, scope, items, 0)
        return {"results": results}

    async def _loop_items(self, step: LoopStep, scope: Scope, items: list[Any], offset: int) -> list[Any]:
        results: list[Any] = [None] * len(items)
        last_id = step.steps[-1].id
        last_scope: list[Scope] = []

        async def one(position: int) -> None:
            item_scope = scope.for_item(items[position], offset + position)
            await self._run_steps(step.steps, item_scope)
            results[position] = item_scope.output(last_id)
            if position == len(items) - 1:
                last_scope.append(item_scope)

        if step.concurrency == 1:
            for position in range(len(items)):
                await one(position)
        else:
            await self._bounded(step.concurrency, [one(position) for position in range(len(items))])
        if last_scope:  # after the loop, its inner steps read as their last item's outputs
            scope.steps.update(last_scope[0].steps)
        return results

    async def _loop_in_batches(self, step: LoopStep, scope: Scope, key: str, items: list[Any]) -> list[Any]:
        assert self._input is not None
        await self._flush()
        results: list[Any] = []
        size = self._input.loop_batch_size
        for offset in range(0, len(items), size):
            batch = LoopBatch(
                loop_path=key,
                items=items[offset : offset + size],
                offset=offset,
                scope_outputs=scope.outputs(),
                scope_vars=scope.vars,
                iteration_path=scope.iteration,
                loop_step=step.model_dump(by_alias=True, exclude_none=True),
            )
            child: RunResult = await workflow.execute_child_workflow(
                INTERPRETER_WORKFLOW,
                replace(self._input, batch=batch, reused_outputs={}, resume_at=0),
                id=f"{run_workflow_id(self._input.execution_id)}-{key.replace('/', '.')}-{offset}",
                result_type=RunResult,
                static_summary=f"{step.label}: items {offset}-{offset + len(batch.items) - 1}",
            )
            results.extend(child.results or [])
        return results

    async def _run_batch(self, batch: LoopBatch) -> RunResult:
        step = LoopStep.model_validate(batch.loop_step)
        scope = Scope(
            steps={k: {"output": v} for k, v in batch.scope_outputs.items()},
            vars=dict(batch.scope_vars),
            iteration=batch.iteration_path,
        )
        try:
            results = await self._loop_items(step, scope, batch.items, batch.offset)
        except StepFailed as failure:
            await self._flush()
            raise ApplicationError(failure.message, type=failure.error_type, non_retryable=True) from None
        await self._flush()
        return RunResult(status=ExecutionStatus.SUCCESS.value, results=results)

    async def _parallel(self, step: ParallelStep, scope: Scope) -> Any:
        branch_scopes = [scope.for_branch() for _ in step.branches]
        tasks = [
            asyncio.create_task(self._run_steps(branch, branch_scope))
            for branch, branch_scope in zip(step.branches, branch_scopes, strict=True)
        ]
        await self._all_or_first_failure(tasks)
        for branch_scope in branch_scopes:
            scope.merge(branch_scope)
        return {"branches": [task.result() for task in tasks]}

    @staticmethod
    async def _bounded(limit: int, coroutines: list[Any]) -> None:
        semaphore = asyncio.Semaphore(limit)

        async def guarded(coroutine: Any) -> None:
            async with semaphore:
                await coroutine

        await LoopSteps._all_or_first_failure([asyncio.create_task(guarded(c)) for c in coroutines])

    @staticmethod
    async def _all_or_first_failure(tasks: list[asyncio.Task[Any]]) -> None:
        """Waits for every task; on the first failure cancels the rest, waits for them, re-raises it."""
        done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [task for task in done if task.exception() is not None]
        if failed:
            for task in pending:
                task.cancel()
            if pending:
                await workflow.wait(pending)
            raise failed[0].exception()  # type: ignore[misc]
