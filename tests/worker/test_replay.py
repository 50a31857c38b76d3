"""Determinism guard: recorded histories of representative runs (every step type) must replay on the
current interpreter, and those of the other workflows (poller, scheduled run, maintenance) on theirs. A
change that would break runs in flight fails here; guard it with `workflow.patched`.

histories/paths/ covers what the first set missed: cancellation, a step timeout, a decision sent before its
approval, the sync `await_response` update, a regular (long-timeout) action, a run that continues as new
(both its runs), a subworkflow's parent and child, a scheduled tick and its child, a poller (polls, pokes,
its end), the maintenance workflow, runs of a workflow with a concurrency limit (its slot's holder, a run
that waits for the slot, one cancelled while it waits: `-k concurrency_slot`), a debounced burst
(`-k debounced`), a bulk retry (`-k bulk_retry`), a
paused run and a step parked by onError "pause" then fixed (`-k paused`), a run that waits out a
connection's rate limit (recorded by tests/integrations/test_record_wait_history.py), an approval that
asks through its signed links and fails when rejected (`approval_notify_rejected`), and an action failing
after buffered rows (`failed_action_after_rows`), and agent steps without and with a tool call waiting
for approval (`agent`, `agent_approval`: tests/integrations/test_agent.py records them).
`test_the_guard_bites_when_commands_are_reordered`
proves a reordered command fails the guard.

histories/before-local-records/, before-local-actions/, before-typed-activities/ (every history above as
recorded before the activities took one dataclass each) and before-live-waits/ (before waiting steps wrote
a row saying what they wait for) hold runs recorded before those patches, before-engine-1/ every
history above as recorded before runs started with engine 1 (core.contract.ENGINE_PATCHES: the patched
paths taken without markers), and before-engine-2/ as recorded before engine 2 (a run's start written by
its first write of rows, not by a local activity of its own): they keep proving that runs started by older
workers still replay.
The recorders live in tests/worker/test_record_histories.py and test_record_feature_histories.py (the
`-k` names above are theirs). Re-record the current set (only when a change is meant to alter new runs, after
guarding the old path with `workflow.patched`; move the old files to a folder first):
    BATON_RECORD_HISTORIES=1 .venv/bin/pytest tests/worker/test_record_*histories.py
(`-k first_missed` re-records histories/paths/ only.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.codec import data_converter
from core.contract import (
    CURRENT_ENGINE,
    ENGINE_PATCHES,
    FIRST_WRITE_ENGINE,
    POLLER_WORKFLOW,
    TYPED_ACTIVITIES_PATCH,
    PollerInput,
)
from core.settings import Settings
from worker.batches import BatonBatch
from worker.closing import BatonCancel
from worker.debounce import BatonDebounce
from worker.interpreter import BatonRun
from worker.main import workflow_runner
from worker.maintenance import BatonMaintenance
from worker.named_runs import NamedBatonRun
from worker.run_state import (
    BOUNDED_PAYLOADS_PATCH,
    LIVE_WAITS_PATCH,
    LOCAL_ACTIONS_PATCH,
    LOCAL_RECORDS_PATCH,
)
from worker.steps.actions import ROWS_AT_ATTEMPT_PATCH
from worker.triggers import BatonPoller, BatonScheduledRun

WORKFLOWS = [
    BatonRun,
    NamedBatonRun,
    BatonPoller,
    BatonScheduledRun,
    BatonMaintenance,
    BatonDebounce,
    BatonBatch,
    BatonCancel,
]

HISTORIES = Path(__file__).parent / "histories"


async def test_recorded_histories_replay_on_the_current_interpreter(settings: Settings) -> None:
    files = sorted(HISTORIES.rglob("*.json"))
    assert len(files) >= 10, f"expected the recorded histories in {HISTORIES}"
    # histories recorded before payloads were sealed pass through the codec; later ones need its key
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=data_converter(settings)
    )
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


@workflow.defn(name=POLLER_WORKFLOW, sandboxed=False)  # defined in a test module: nothing to re-import
class ReorderedPoller:
    """The poller with its first two commands swapped (sleep, then poll): what a careless edit does."""

    @workflow.run
    async def run(self, poller: PollerInput) -> str:
        await workflow.sleep(10)
        await workflow.execute_activity(
            "baton.poll", poller.workflow_id, start_to_close_timeout=timedelta(minutes=5)
        )
        return "reordered"


def test_engines_fold_in_every_patch_of_their_time() -> None:
    """A run started with engine 1 takes these paths without asking; a patch added since is not among them
    (it is asked with `workflow.patched` until a new engine number folds it in)."""
    assert ENGINE_PATCHES[1] == {
        LOCAL_RECORDS_PATCH,
        LOCAL_ACTIONS_PATCH,
        BOUNDED_PAYLOADS_PATCH,
        LIVE_WAITS_PATCH,
        TYPED_ACTIVITIES_PATCH,
        ROWS_AT_ATTEMPT_PATCH,
    }
    assert ENGINE_PATCHES[2] == frozenset()  # engine 2 is asked by number (FIRST_WRITE_ENGINE)
    assert max(ENGINE_PATCHES) == CURRENT_ENGINE == FIRST_WRITE_ENGINE


async def test_the_guard_bites_when_commands_are_reordered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay test above would pass whatever the workflows do if it replayed nothing it could notice:
    a poller that sleeps before it polls, and an interpreter that runs its top-level steps last-first, must
    each fail on the histories recorded before."""
    converter = data_converter(settings)
    poller = HISTORIES / "paths" / "poller.json"
    replayer = Replayer(
        workflows=[ReorderedPoller], workflow_runner=workflow_runner(), data_converter=converter
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json("poller", poller.read_text()), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None, "a reordered poller replayed the recorded history"
    assert "nondetermin" in str(result.replay_failure).lower()

    original = BatonRun._run_top

    async def last_first(self: BatonRun, steps: list[Any], scope: Any) -> None:
        await original(self, list(reversed(steps)), scope)

    monkeypatch.setattr(BatonRun, "_run_top", last_first)
    replayer = Replayer(workflows=[BatonRun], workflow_runner=workflow_runner(), data_converter=converter)
    every = HISTORIES / "every_step_type.json"
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json("every_step_type", every.read_text()), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None, "an interpreter running its steps last-first replayed"
