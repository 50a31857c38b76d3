"""The recorders of the histories tests/worker/test_replay.py replays: representative runs of every step type
(histories/) and the paths and workflows those first missed (histories/paths/), each run on a real worker.
Skipped unless BATON_RECORD_HISTORIES=1; test_replay.py's docstring says when and how to re-record, and
test_record_feature_histories.py records the features added since.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle

from core.contract import (
    AWAIT_RESPONSE_UPDATE,
    MAINTENANCE_WORKFLOW,
    POKE_SIGNAL,
    POLLER_WORKFLOW,
    SCHEDULED_RUN_WORKFLOW,
    Decision,
    PollerInput,
    ScheduledFire,
)
from tests.api.test_polling import rss
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import HISTORIES, first_run_id, history_of, recording, set_step, wait_out


@recording
async def test_record_histories(engine_worker: Engine, http_server: ScriptedServer) -> None:
    HISTORIES.mkdir(exist_ok=True)
    http_server.script("/ok", Reply(200, {"ok": True}))
    http_server.script("/bad", Reply(400, {"error": "bad"}))
    ok, bad = http_server.base_url + "/ok", http_server.base_url + "/bad"
    child = await create_workflow(engine_worker.db, [set_step("double", v="{{ trigger.n * 2 }}")])

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
            set_step("start", n="{{ trigger.n }}"),
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
                "then": [set_step("big", size="big")],
                "else": [set_step("small", size="small")],
            },
            {
                "id": "route",
                "type": "switch",
                "value": "{{ vars.size }}",
                "cases": {"big": [set_step("b", x=1)]},
                "default": [set_step("d", x=0)],
            },
            {
                "id": "each",
                "type": "loop",
                "items": "{{ [1, 2, 3] }}",
                "concurrency": 2,
                "steps": [set_step("sq", v="{{ item * item }}")],
            },
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [set_step("left", l=1)],
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
            set_step("after", approved="{{ steps.review.output.approved }}"),
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
                "onError": [set_step("fallback", why="{{ steps.handled.output.error.type }}")],
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
                "steps": [set_step("v", i="{{ item }}")],
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


@recording
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
        await wait_out(handle)
        first = await first_run_id(handle)
        (folder / f"{name}.json").write_text(await history_of(engine_worker, handle.id, first))

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
                set_step("after", done=True),
            ]
        ),
    )

    early = await engine_worker.start(
        [
            {"id": "first", "type": "delay", "seconds": 1},
            {"id": "review", "type": "approval", "message": "ok?", "timeoutSeconds": 3600},
            set_step("after", approved="{{ steps.review.output.approved }}"),
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
    await wait_out(continued)
    first = await first_run_id(continued)
    first_history = await history_of(engine_worker, continued.id, first)
    assert "ContinuedAsNew" in first_history, "the run did not continue as new"
    (folder / "continue_as_new_first_run.json").write_text(first_history)
    (folder / "continue_as_new_last_run.json").write_text(await history_of(engine_worker, continued.id))

    child = await create_workflow(engine_worker.db, [set_step("double", v="{{ trigger.n * 2 }}")])
    parent = await engine_worker.start(
        [{"id": "sub", "type": "subworkflow", "workflowId": child, "input": {"n": 2}}]
    )
    await save("subworkflow_parent", parent)
    child_ids = await engine_worker.db.fetch(
        "SELECT id::text FROM workflow_executions WHERE workflow_id = $1", child
    )
    assert len(child_ids) == 1
    (folder / "subworkflow_child.json").write_text(
        await history_of(engine_worker, f"run-{child_ids[0]['id']}")
    )

    scheduled = await create_workflow(
        engine_worker.db, [set_step("tick", at="{{ trigger.scheduledAt }}")], trigger_type="SCHEDULE",
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
    (folder / "scheduled_run_child.json").write_text(await history_of(engine_worker, f"run-{tick_child}"))

    feed = http_server.script("/feed.xml", rss("a"), rss("a", "b"))
    polled = await create_workflow(
        engine_worker.db, [set_step("seen", title="{{ trigger.item.title }}")], trigger_type="POLLING",
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
