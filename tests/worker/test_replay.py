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
after buffered rows (`failed_action_after_rows`). `test_the_guard_bites_when_commands_are_reordered`
proves a reordered command fails the guard.

histories/before-local-records/, before-local-actions/, before-typed-activities/ (every history above as
recorded before the activities took one dataclass each) and before-live-waits/ (before waiting steps wrote
a row saying what they wait for) hold runs recorded before those patches, before-engine-1/ every
history above as recorded before runs started with engine 1 (core.contract.ENGINE_PATCHES: the patched
paths taken without markers), and before-engine-2/ as recorded before engine 2 (a run's start written by
its first write of rows, not by a local activity of its own): they keep proving that runs started by older
workers still replay.
Re-record the current set (only when a change is meant to alter new runs, after guarding the old path
with `workflow.patched`; move the old files to a folder first):
    BATON_RECORD_HISTORIES=1 .venv/bin/pytest tests/worker/test_replay.py -k record
(`-k first_missed` re-records histories/paths/ only.)
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from core.codec import data_converter
from core.contract import (
    AWAIT_RESPONSE_UPDATE,
    BATCH_WORKFLOW,
    CURRENT_ENGINE,
    DEBOUNCE_SIGNAL,
    DEBOUNCE_WORKFLOW,
    ENGINE_PATCHES,
    FIRST_WRITE_ENGINE,
    MAINTENANCE_WORKFLOW,
    PAUSE_SIGNAL,
    POKE_SIGNAL,
    POLLER_WORKFLOW,
    SCHEDULED_RUN_WORKFLOW,
    TYPED_ACTIVITIES_PATCH,
    UNPAUSE_SIGNAL,
    BatchRequest,
    DebouncedEvent,
    DebounceStart,
    Decision,
    PauseRequest,
    PollerInput,
    ScheduledFire,
    Unpause,
)
from core.settings import Settings
from tests.api.test_polling import rss
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer
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


def _set(step_id: str, **values: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "set", "values": values}


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


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_histories(engine_worker: Engine, http_server: ScriptedServer) -> None:
    HISTORIES.mkdir(exist_ok=True)
    http_server.script("/ok", Reply(200, {"ok": True}))
    http_server.script("/bad", Reply(400, {"error": "bad"}))
    ok, bad = http_server.base_url + "/ok", http_server.base_url + "/bad"
    child = await create_workflow(engine_worker.db, [_set("double", v="{{ trigger.n * 2 }}")])

    async def save(name: str, steps: list[dict[str, Any]], trigger: Any = None, **options: Any) -> Any:
        handle = await engine_worker.start(steps, trigger or {}, **options)
        if name == "approval":
            for _ in range(100):
                if (await handle.query("state"))["waitingForDecision"]:
                    break
                await asyncio.sleep(0.05)
            await handle.execute_update("decide", Decision("review", True, by="user-1", comment="ok"))
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
        description = await handle.describe()
        first_run = description.raw_description.workflow_execution_info.first_run_id or description.run_id
        history = await engine_worker.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())

    await save(
        "every_step_type",
        [
            _set("start", n="{{ trigger.n }}"),
            {
                "id": "call",
                "type": "action",
                "action": "http.request",
                "name": "Call the API",
                "input": {"url": ok},
            },
            {
                "id": "check",
                "type": "condition",
                "if": "{{ vars.n > 1 }}",
                "then": [_set("big", size="big")],
                "else": [_set("small", size="small")],
            },
            {
                "id": "route",
                "type": "switch",
                "value": "{{ vars.size }}",
                "cases": {"big": [_set("b", x=1)]},
                "default": [_set("d", x=0)],
            },
            {
                "id": "each",
                "type": "loop",
                "items": "{{ [1, 2, 3] }}",
                "concurrency": 2,
                "steps": [_set("sq", v="{{ item * item }}")],
            },
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [_set("left", l=1)],
                    [{"id": "ping", "type": "action", "action": "http.request", "input": {"url": ok}}],
                ],
            },
            {"id": "nap", "type": "delay", "seconds": 1},
            {"id": "sub", "type": "subworkflow", "workflowId": child, "input": {"n": 4}},
            {"id": "reply", "type": "respond", "status": 200, "body": {"v": "{{ steps.sub.output.v }}"}},
            {"id": "end", "type": "stop", "status": "SUCCESS"},
        ],
        {"n": 3},
    )
    await save(
        "approval",
        [
            {"id": "review", "type": "approval", "message": "ok?", "timeoutSeconds": 3600},
            _set("after", approved="{{ steps.review.output.approved }}"),
        ],
    )
    await save(
        "approval_timeout",
        [{"id": "review", "type": "approval", "timeoutSeconds": 1, "defaultDecision": "approve"}],
    )
    await save(
        "error_paths",
        [
            {
                "id": "soft",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "onError": "continue",
            },
            {
                "id": "handled",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "onError": [_set("fallback", why="{{ steps.handled.output.error.type }}")],
            },
            {
                "id": "hard",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "retry": {"maxAttempts": 2, "initialIntervalSeconds": 0.1},
            },
        ],
    )
    await save(
        "loop_batches",
        [
            {
                "id": "each",
                "type": "loop",
                "items": "{{ trigger.items }}",
                "steps": [_set("v", i="{{ item }}")],
            }
        ],
        {"items": list(range(25))},
        loop_batch_size=10,
    )
    await save(
        "continue_as_new",
        [
            {"id": f"c{i}", "type": "action", "action": "http.request", "input": {"url": ok}}
            for i in range(120)
        ],
    )
    await save("run_timeout", [{"id": "nap", "type": "delay", "seconds": 30}], timeout_seconds=1)


async def _history(engine: Engine, workflow_id: str, run_id: str | None = None) -> str:
    return str(
        (await engine.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).to_json()
    )


async def _wait(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.result()
    except WorkflowFailureError:
        pass


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_runs_that_wait_for_a_concurrency_slot(engine_worker: Engine) -> None:
    """A holder of a workflow's one slot (parked on an approval), a run that waits for the slot until the
    holder's end signals it, and one cancelled while it waits. Written to histories/paths/."""
    folder = HISTORIES / "paths"
    limit = {"limit": 1, "key": "{{ trigger.customer }}"}
    workflow_id = await create_workflow(engine_worker.db, [])
    approval = {"id": "hold", "type": "approval", "message": "hold the slot", "timeoutSeconds": 600}
    holder = await engine_worker.start(
        [approval], {"customer": "x"}, workflow_id=workflow_id, concurrency=limit
    )
    for _ in range(100):
        if (await holder.query("state"))["waitingForDecision"]:
            break
        await asyncio.sleep(0.05)
    waiting = await engine_worker.start(
        [_set("after", v="{{ trigger.customer }}")], {"customer": "x"}, workflow_id=workflow_id,
        concurrency=limit,
    )  # fmt: skip
    cancelled = await engine_worker.start(
        [_set("never", v=1)], {"customer": "x"}, workflow_id=workflow_id, concurrency=limit
    )
    await asyncio.sleep(1.5)  # both have taken their places and wait
    await cancelled.cancel()
    await _wait(cancelled)
    await holder.execute_update("decide", Decision("hold", True, by="user-1"))
    assert (await waiting.result()).status == "SUCCESS"
    await _wait(holder)
    for name, handle in (
        ("concurrency_holder", holder),
        ("concurrency_waited", waiting),
        ("concurrency_cancelled_waiting", cancelled),
    ):
        (folder / f"{name}.json").write_text(
            await _history(engine_worker, handle.id, await _first_run(handle))
        )


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_a_debounced_burst(engine_worker: Engine) -> None:
    """A debouncer fed three calls, quiet, starting the burst's run: histories/paths/debounce.json."""
    workflow_id = await create_workflow(engine_worker.db, [_set("note", n="{{ trigger.body.n }}")])
    debouncer = f"debounce-{workflow_id}-all"
    calls = [DebouncedEvent({"body": {"n": n}}, f"2026-12-03T10:00:0{n}+00:00") for n in range(3)]
    handle = await engine_worker.client.start_workflow(
        DEBOUNCE_WORKFLOW,
        DebounceStart(workflow_id, "", 1.0),
        id=debouncer,
        task_queue=engine_worker.task_queue,
        start_signal=DEBOUNCE_SIGNAL,
        start_signal_args=[calls[0]],
    )
    for call in calls[1:]:
        await handle.signal(DEBOUNCE_SIGNAL, call)
    assert await handle.result() == 1
    (HISTORIES / "paths" / "debounce.json").write_text(await _history(engine_worker, handle.id))


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_a_bulk_retry(engine_worker: Engine) -> None:
    """A batch retrying a failed run and skipping a run that is not there: histories/paths/batch.json."""
    workflow_id = await create_workflow(engine_worker.db, [_set("s", v=1)])
    failed = str(uuid.uuid4())
    await engine_worker.db.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, trigger_data, context) "
        "VALUES ($1, $2, 'FAILED', '{}', '{\"version\": 1}')",
        failed,
        workflow_id,
    )
    batch_id = str(uuid.uuid4())
    handle = await engine_worker.client.start_workflow(
        BATCH_WORKFLOW,
        BatchRequest(batch_id, "ws", "retry", [failed, str(uuid.uuid4())]),
        id=f"batch-{batch_id}",
        task_queue=engine_worker.task_queue,
    )
    progress = await handle.result()
    assert (progress["started"], progress["skipped"]) == (1, 1), progress
    (HISTORIES / "paths" / "batch.json").write_text(await _history(engine_worker, handle.id))


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_paused_runs(engine_worker: Engine, http_server: ScriptedServer) -> None:
    """A run paused before its next step and unpaused, and a step that failed under onError "pause" tried
    again with an edited input: histories/paths/paused.json and parked_fixed.json."""
    folder = HISTORIES / "paths"
    paused = await engine_worker.start(
        [{"id": "nap", "type": "delay", "seconds": 1}, _set("after", done=True)]
    )
    await paused.signal(PAUSE_SIGNAL, PauseRequest("user-1", "maintenance"))
    await asyncio.sleep(2)
    await paused.signal(UNPAUSE_SIGNAL, Unpause("user-1"))
    assert (await paused.result()).status == "SUCCESS"
    (folder / "paused.json").write_text(await _history(engine_worker, paused.id))

    broken = http_server.script("/broken", Reply(500, {"error": "gone"}))
    fixed = http_server.script("/fixed", Reply(200, {"ok": True}))
    push = {"id": "push", "type": "action", "action": "http.request", "input": {"url": broken},
            "retry": {"maxAttempts": 1}, "onError": "pause"}  # fmt: skip
    parked = await engine_worker.start([push])
    for _ in range(100):
        if http_server.hits("/broken"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await parked.signal(UNPAUSE_SIGNAL, Unpause("user-1", {"url": fixed}))
    assert (await parked.result()).status == "SUCCESS"
    (folder / "parked_fixed.json").write_text(await _history(engine_worker, parked.id))

    # parked, then gone on on the latest published version: the run continues as new (its first run here)
    workflow_id = await create_workflow(engine_worker.db, [{**push, "input": {"url": fixed}}])
    moved = await engine_worker.start([push], workflow_id=workflow_id)
    await asyncio.sleep(1.5)
    await moved.signal(UNPAUSE_SIGNAL, Unpause("user-1", latest_version=True))
    assert (await moved.result()).status == "SUCCESS"
    first = await _first_run(moved)
    (folder / "parked_latest_version.json").write_text(await _history(engine_worker, moved.id, first))


async def _first_run(handle: WorkflowHandle[Any, Any]) -> str:
    description = await handle.describe()
    return description.raw_description.workflow_execution_info.first_run_id or description.run_id or ""


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_the_paths_and_workflows_first_missed(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    """The paths the first recordings missed (cancellation, a step timeout, an early decision, the sync
    `await_response` update, a regular action, a run that really continues as new, a child run) and the
    other workflows (poller, scheduled run, maintenance). Written to histories/paths/."""
    folder = HISTORIES / "paths"
    folder.mkdir(exist_ok=True)
    ok = http_server.script("/ok", Reply(200, {"ok": True}))

    async def save(name: str, handle: WorkflowHandle[Any, Any]) -> None:
        await _wait(handle)
        first = await _first_run(handle)
        (folder / f"{name}.json").write_text(await _history(engine_worker, handle.id, first))

    cancelled = await engine_worker.start([{"id": "nap", "type": "delay", "seconds": 600}])
    await asyncio.sleep(1)
    await cancelled.cancel()
    await save("cancelled", cancelled)

    await save(
        "step_timeout",
        await engine_worker.start(
            [
                {
                    "id": "slow",
                    "type": "condition",
                    "if": "{{ true }}",
                    "timeoutSeconds": 1,
                    "then": [{"id": "nap", "type": "delay", "seconds": 60}],
                    "onError": "continue",
                },
                _set("after", done=True),
            ]
        ),
    )

    early = await engine_worker.start(
        [
            {"id": "first", "type": "delay", "seconds": 1},
            {"id": "review", "type": "approval", "message": "ok?", "timeoutSeconds": 3600},
            _set("after", approved="{{ steps.review.output.approved }}"),
        ]
    )
    await early.execute_update("decide", Decision("review", True, by="user-1", comment="early"))
    await save("early_decision", early)

    replying = await engine_worker.start(
        [
            {"id": "first", "type": "delay", "seconds": 1},
            {"id": "reply", "type": "respond", "status": 201, "body": {"ok": True}},
            {"id": "later", "type": "delay", "seconds": 1},
        ]
    )
    assert (await replying.execute_update(AWAIT_RESPONSE_UPDATE, result_type=dict))["status"] == 201
    await save("await_response", replying)

    await save(
        "regular_action",  # a timeout past LOCAL_ACTION_MAX_TIMEOUT: a regular activity, not a local one
        await engine_worker.start(
            [
                {
                    "id": "call",
                    "type": "action",
                    "action": "http.request",
                    "timeoutSeconds": 900,
                    "input": {"url": ok},
                }
            ]
        ),
    )

    # each delay ends a workflow task, so the server's continue-as-new suggestion is seen between steps
    pairs = [
        step
        for i in range(120)
        for step in (
            {"id": f"c{i}", "type": "action", "action": "http.request", "input": {"url": ok}},
            {"id": f"d{i}", "type": "delay", "seconds": 0.01},
        )
    ]
    continued = await engine_worker.start(pairs)
    await _wait(continued)
    first = await _first_run(continued)
    first_history = await _history(engine_worker, continued.id, first)
    assert "ContinuedAsNew" in first_history, "the run did not continue as new"
    (folder / "continue_as_new_first_run.json").write_text(first_history)
    (folder / "continue_as_new_last_run.json").write_text(await _history(engine_worker, continued.id))

    child = await create_workflow(engine_worker.db, [_set("double", v="{{ trigger.n * 2 }}")])
    parent = await engine_worker.start(
        [{"id": "sub", "type": "subworkflow", "workflowId": child, "input": {"n": 2}}]
    )
    await save("subworkflow_parent", parent)
    child_ids = await engine_worker.db.fetch(
        "SELECT id::text FROM workflow_executions WHERE workflow_id = $1", child
    )
    assert len(child_ids) == 1
    (folder / "subworkflow_child.json").write_text(await _history(engine_worker, f"run-{child_ids[0]['id']}"))

    scheduled = await create_workflow(
        engine_worker.db, [_set("tick", at="{{ trigger.scheduledAt }}")], trigger_type="SCHEDULE",
        trigger_config={"cron": "0 * * * *"},
    )  # fmt: skip
    await engine_worker.db.execute("UPDATE workflows SET is_active = true WHERE id = $1", scheduled)
    tick = await engine_worker.client.start_workflow(
        SCHEDULED_RUN_WORKFLOW,
        ScheduledFire(scheduled),
        id=f"schedule-tick-{uuid.uuid4().hex[:8]}",
        task_queue=engine_worker.task_queue,
    )
    assert "SUCCESS" in str(await tick.result()), "the scheduled run did not run its child"
    await save("scheduled_run", tick)
    tick_child = await engine_worker.db.fetchval(
        "SELECT id::text FROM workflow_executions WHERE workflow_id = $1", scheduled
    )
    (folder / "scheduled_run_child.json").write_text(await _history(engine_worker, f"run-{tick_child}"))

    feed = http_server.script("/feed.xml", rss("a"), rss("a", "b"))
    polled = await create_workflow(
        engine_worker.db, [_set("seen", title="{{ trigger.item.title }}")], trigger_type="POLLING",
        trigger_config={"trigger": "rss.new_item", "config": {"url": feed}, "pollingIntervalSeconds": 10},
    )  # fmt: skip
    await engine_worker.db.execute("UPDATE workflows SET is_active = true WHERE id = $1", polled)
    poller = await engine_worker.client.start_workflow(
        POLLER_WORKFLOW, PollerInput(polled), id=f"poll-{polled}", task_queue=engine_worker.task_queue
    )
    for _ in range(2):  # the baseline, then a poll that fires a run for the new item
        await asyncio.sleep(1)
        await poller.signal(POKE_SIGNAL)
    await asyncio.sleep(1)
    await engine_worker.db.execute("UPDATE workflows SET is_active = false WHERE id = $1", polled)
    await poller.signal(POKE_SIGNAL)
    assert "stopped after" in str(await poller.result())
    await save("poller", poller)

    maintenance = await engine_worker.client.start_workflow(
        MAINTENANCE_WORKFLOW,
        True,
        id=f"maintenance-{uuid.uuid4().hex[:8]}",
        task_queue=engine_worker.task_queue,
    )
    await save("maintenance", maintenance)


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_an_approval_that_asks_through_its_links_and_fails_when_rejected(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    """An approval step with `notify` steps (its signed links signed by an activity, then sent by an
    action) and `onReject: fail`, rejected: histories/paths/approval_notify_rejected.json."""
    ok = http_server.script("/ask", Reply(200, {"ok": True}))
    handle = await engine_worker.start(
        [
            {
                "id": "review",
                "type": "approval",
                "message": "ok?",
                "timeoutSeconds": 3600,
                "onReject": "fail",
                "notify": [
                    {
                        "id": "ask",
                        "type": "action",
                        "action": "http.request",
                        "input": {"url": ok, "query": {"yes": "{{ steps.review.output.approveUrl }}"}},
                    }
                ],
            },
            _set("after", approved="{{ steps.review.output.approved }}"),
        ]
    )
    for _ in range(200):
        if http_server.hits("/ask"):
            break
        await asyncio.sleep(0.05)
    await handle.execute_update("decide", Decision("review", False, by="user-1", comment="no"))
    await _wait(handle)
    folder = HISTORIES / "paths"
    (folder / "approval_notify_rejected.json").write_text(
        await _history(engine_worker, handle.id, await _first_run(handle))
    )
    # an action that fails after rows were buffered (patch `rows-at-attempt`: its attempt wrote them)
    bad = http_server.script("/bad", Reply(400, {"error": "bad"}))
    failing = await engine_worker.start(
        [
            _set("before", x=1),
            {"id": "soft", "type": "action", "action": "http.request", "input": {"url": bad},
             "onError": "continue"},
            {"id": "nap", "type": "delay", "seconds": 1},
        ]
    )  # fmt: skip
    await _wait(failing)
    (folder / "failed_action_after_rows.json").write_text(
        await _history(engine_worker, failing.id, await _first_run(failing))
    )
