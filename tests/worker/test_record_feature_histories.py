"""Recorders of histories/paths/ for features added after the first sets (test_record_histories.py): runs
waiting for a concurrency slot, a debounced burst, a bulk retry, paused runs, and an approval asking through
its signed links. Skipped unless BATON_RECORD_HISTORIES=1 (see tests/worker/test_replay.py).
"""

from __future__ import annotations

import asyncio
import uuid

from core.contract import (
    BATCH_WORKFLOW,
    DEBOUNCE_SIGNAL,
    DEBOUNCE_WORKFLOW,
    PAUSE_SIGNAL,
    UNPAUSE_SIGNAL,
    BatchRequest,
    DebouncedEvent,
    DebounceStart,
    Decision,
    PauseRequest,
    Unpause,
)
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import HISTORIES, first_run_id, history_of, recording, set_step, wait_out


@recording
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
        [set_step("after", v="{{ trigger.customer }}")], {"customer": "x"}, workflow_id=workflow_id,
        concurrency=limit,
    )  # fmt: skip
    cancelled = await engine_worker.start(
        [set_step("never", v=1)], {"customer": "x"}, workflow_id=workflow_id, concurrency=limit
    )
    await asyncio.sleep(1.5)  # both have taken their places and wait
    await cancelled.cancel()
    await wait_out(cancelled)
    await holder.execute_update("decide", Decision("hold", True, by="user-1"))
    assert (await waiting.result()).status == "SUCCESS"
    await wait_out(holder)
    for name, handle in (
        ("concurrency_holder", holder),
        ("concurrency_waited", waiting),
        ("concurrency_cancelled_waiting", cancelled),
    ):
        (folder / f"{name}.json").write_text(
            await history_of(engine_worker, handle.id, await first_run_id(handle))
        )


@recording
async def test_record_a_debounced_burst(engine_worker: Engine) -> None:
    """A debouncer fed three calls, quiet, starting the burst's run: histories/paths/debounce.json."""
    workflow_id = await create_workflow(engine_worker.db, [set_step("note", n="{{ trigger.body.n }}")])
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
    (HISTORIES / "paths" / "debounce.json").write_text(await history_of(engine_worker, handle.id))


@recording
async def test_record_a_bulk_retry(engine_worker: Engine) -> None:
    """A batch retrying a failed run and skipping a run that is not there: histories/paths/batch.json."""
    workflow_id = await create_workflow(engine_worker.db, [set_step("s", v=1)])
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
    (HISTORIES / "paths" / "batch.json").write_text(await history_of(engine_worker, handle.id))


@recording
async def test_record_paused_runs(engine_worker: Engine, http_server: ScriptedServer) -> None:
    """A run paused before its next step and unpaused, and a step that failed under onError "pause" tried
    again with an edited input: histories/paths/paused.json and parked_fixed.json."""
    folder = HISTORIES / "paths"
    paused = await engine_worker.start(
        [{"id": "nap", "type": "delay", "seconds": 1}, set_step("after", done=True)]
    )
    await paused.signal(PAUSE_SIGNAL, PauseRequest("user-1", "maintenance"))
    await asyncio.sleep(2)
    await paused.signal(UNPAUSE_SIGNAL, Unpause("user-1"))
    assert (await paused.result()).status == "SUCCESS"
    (folder / "paused.json").write_text(await history_of(engine_worker, paused.id))

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
    (folder / "parked_fixed.json").write_text(await history_of(engine_worker, parked.id))

    # parked, then gone on on the latest published version: the run continues as new (its first run here)
    workflow_id = await create_workflow(engine_worker.db, [{**push, "input": {"url": fixed}}])
    moved = await engine_worker.start([push], workflow_id=workflow_id)
    await asyncio.sleep(1.5)
    await moved.signal(UNPAUSE_SIGNAL, Unpause("user-1", latest_version=True))
    assert (await moved.result()).status == "SUCCESS"
    first = await first_run_id(moved)
    (folder / "parked_latest_version.json").write_text(await history_of(engine_worker, moved.id, first))


@recording
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
            set_step("after", approved="{{ steps.review.output.approved }}"),
        ]
    )
    for _ in range(200):
        if http_server.hits("/ask"):
            break
        await asyncio.sleep(0.05)
    await handle.execute_update("decide", Decision("review", False, by="user-1", comment="no"))
    await wait_out(handle)
    folder = HISTORIES / "paths"
    (folder / "approval_notify_rejected.json").write_text(
        await history_of(engine_worker, handle.id, await first_run_id(handle))
    )
    # an action that fails after rows were buffered (patch `rows-at-attempt`: its attempt wrote them)
    bad = http_server.script("/bad", Reply(400, {"error": "bad"}))
    failing = await engine_worker.start(
        [
            set_step("before", x=1),
            {"id": "soft", "type": "action", "action": "http.request", "input": {"url": bad},
             "onError": "continue"},
            {"id": "nap", "type": "delay", "seconds": 1},
        ]
    )  # fmt: skip
    await wait_out(failing)
    (folder / "failed_action_after_rows.json").write_text(
        await history_of(engine_worker, failing.id, await first_run_id(failing))
    )
