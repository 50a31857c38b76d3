"""`NamedBatonRun`: the interpreter under any other workflow type. A run starts under its workflow's name
(core.contract.run_workflow_type) so the Temporal Web UI's list names the workflow each run belongs to; this
dynamic workflow serves every such type with BatonRun's code (its signals, queries and updates included).
Its commands are BatonRun's, so the histories that guard BatonRun (tests/worker/test_replay.py) guard it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from core.contract import RunInput, RunResult
from worker.interpreter import BatonRun


@workflow.defn(dynamic=True, sandboxed=False)  # unsandboxed as BatonRun is (see worker.interpreter)
class NamedBatonRun(BatonRun):
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> RunResult:  # type: ignore[override]
        run = workflow.payload_converter().from_payload(args[0].payload, RunInput)
        return await BatonRun.run(self, run)
