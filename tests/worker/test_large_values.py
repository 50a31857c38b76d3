"""Values of any size: with a blob store (BLOB_STORE_URL), a run hands on values up to MAX_VALUE_BYTES, the
limit it took as it started (RunInput.value_limit). Values past Temporal's 2 MiB payload limit (a step's
output, an action's answer, the trigger, a loop's items handed to its batches) leave only references in
history, and expressions read them as they are (`{{ steps.fetch.output.body }}` passes the value on,
`| length` reads it). A value over the run's limit fails its step naming the step, the size and the
setting; a run without a store keeps the limits of before and says so. A run's history on the new path is
recorded and replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer

from activities.records import LOG_VALUE_BYTES, logged_value
from core.blobs import run_value_limit
from core.codec import REFERENCE_TYPE, data_converter
from core.contract import RunResult
from core.settings import Settings
from tests.engine import Engine, history_payloads, output
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import HISTORIES, recording
from tests.worker.test_replay import WORKFLOWS
from worker.main import workflow_runner

THRESHOLD = 64 * 1024
LIMIT = 4 * 1024 * 1024  # MAX_VALUE_BYTES here
KEEP = {"id": "keep", "type": "set", "values": {"item": "{{ item }}", "n": "{{ item | length }}"}}
RECORDED = HISTORIES / "paths" / "large_value.json"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    store = {"blob_store_url": f"file://{tmp_path}/blobs"}
    return settings.model_copy(update={**store, "blob_threshold_bytes": THRESHOLD, "max_value_bytes": LIMIT})


async def failure_of(engine: Engine, steps: list[Any], trigger: object, limit: int) -> str:
    handle = await engine.start(steps, trigger, value_limit=limit)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    row = await engine.execution(handle)
    assert row["status"] == "FAILED"
    return str(row["error"])


async def test_values_past_temporals_limit_go_through_the_claim_check_and_expressions_read_them(
    engine_worker: Engine, settings: Settings, http_server: ScriptedServer
) -> None:
    text = "ab" * 1_100_000  # 2.2 MB: past Temporal's payload limit and the expression budget
    rows = ["r" * 1000] * 2500  # an action's answer of 2.5 MB
    items = ["i" * 700_000, "j" * 700_000, "k" * 700_000]  # the loop's batches carry 1.4 MB each
    url = http_server.script("/export", Reply(200, {"rows": rows}))
    sink = http_server.script("/sink", Reply(200, {"ok": True}))
    steps = [
        {"id": "copy", "type": "set", "values": {"text": "{{ trigger.text }}"}},
        {"id": "fetch", "type": "action", "action": "http.request", "input": {"url": url}},
        {  # an action's input as large: the value passed on by reference
            "id": "send",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": sink, "json": "{{ steps.fetch.output.body }}"},
        },
        {
            "id": "each",
            "type": "loop",
            "items": "{{ trigger.items }}",
            "steps": [
                {"id": "keep", "type": "set", "values": {"item": "{{ item }}", "n": "{{ item | length }}"}}
            ],
        },
        {
            "id": "after",
            "type": "set",
            "values": {
                "length": "{{ steps.copy.output.text | length }}",
                "rows": "{{ steps.fetch.output.body.rows | length }}",
                "first": "{{ steps.fetch.output.body.rows[0] | length }}",
            },
        },
    ]
    assert run_value_limit(settings) == LIMIT
    handle = await engine_worker.start(
        steps, {"text": text, "items": items}, value_limit=run_value_limit(settings), loop_batch_size=2
    )
    result = await handle.result()
    assert isinstance(result, RunResult)
    assert result.status == "SUCCESS", result.error
    assert result.result == {"length": len(text), "rows": len(rows), "first": 1000}

    found = await engine_worker.step_rows(handle)
    assert output(found["copy"]) == {"text": text}
    assert output(found["fetch"])["body"]["rows"] == rows
    [sent] = [r for r in http_server.requests if r.path == "/sink"]
    assert json.loads(sent.body) == {"rows": rows}
    kept = await engine_worker.db.fetch(
        "SELECT output FROM step_executions WHERE execution_id = $1 AND step_id = 'keep' ORDER BY step_key",
        handle.id.removeprefix("run-"),
    )
    assert [json.loads(r["output"])["n"] for r in kept] == [700_000] * 3

    raw = await history_payloads(engine_worker.client, handle.id, decoded=False)
    assert max(p.ByteSize() for p in raw) < THRESHOLD
    assert any(p.metadata.get("messageType") == REFERENCE_TYPE for p in raw)
    children = [
        e
        for e in (await handle.fetch_history()).events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert len(children) == 2  # the loop's items went to two batches, each input past Temporal's limit


async def test_a_value_over_the_runs_limit_fails_its_step_naming_the_step_the_size_and_the_setting(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    half = "x" * (LIMIT // 2 + 1000)
    doubled = [{"id": "double", "type": "set", "values": {"a": "{{ trigger.s }}", "b": "{{ trigger.s }}"}}]
    error = await failure_of(engine_worker, doubled, {"s": half}, LIMIT)
    assert "step 'double' output is" in error
    assert f"{LIMIT:,} bytes" in error
    assert "MAX_VALUE_BYTES" in error

    url = http_server.script("/huge", Reply(200, {"rows": ["r" * 1000] * (LIMIT // 1000 + 10)}))
    fetched = [{"id": "fetch", "type": "action", "action": "http.request", "input": {"url": url}}]
    error = await failure_of(engine_worker, fetched, {}, LIMIT)
    assert "step 'fetch'" in error
    assert "MAX_VALUE_BYTES" in error
    assert f"{LIMIT:,} bytes" in error


async def test_a_run_started_without_a_store_keeps_the_limits_of_before_and_says_so(
    engine_worker: Engine, settings: Settings
) -> None:
    assert run_value_limit(settings.model_copy(update={"blob_store_url": ""})) == 0
    big = [{"id": "big", "type": "set", "values": {"a": "{{ trigger.s }}", "b": "{{ trigger.s }}"}}]
    error = await failure_of(engine_worker, big, {"s": "y" * 600_000}, 0)
    assert "step 'big' output is" in error
    assert "1,024 KiB" in error
    assert "BLOB_STORE_URL is not set" in error
    # and a plain reference to a value past the expression budget is refused as before
    copy = [{"id": "copy", "type": "set", "values": {"text": "{{ trigger.s }}"}}]
    error = await failure_of(engine_worker, copy, {"s": "z" * 1_000_001}, 0)
    assert "size budget" in error


# A step output past the 1 MiB of before, made by expressions within their budget, in a run that carries
# a value limit. The output leaves the workflow in the input of the activity that writes the rows, stored
# aside as a reference; a replay never opens an activity's input, so the history replays without the store
# (tests/worker/test_replay.py replays it too).
RECORDED_STEPS = [
    {
        "id": "wide",
        "type": "set",
        "values": {"a": "{{ 'a' | center(550000) }}", "b": "{{ 'b' | center(550000) }}"},
    },
    {"id": "after", "type": "set", "values": {"size": "{{ steps.wide.output.a | length }}"}},
]


@recording
async def test_record_a_run_that_hands_on_a_value_past_the_limit_of_before(engine_worker: Engine) -> None:
    handle = await engine_worker.start(RECORDED_STEPS, {}, value_limit=LIMIT)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    assert result.result == {"size": 550000}
    RECORDED.parent.mkdir(parents=True, exist_ok=True)
    RECORDED.write_text((await handle.fetch_history()).to_json())


async def test_the_recorded_run_replays_on_the_current_worker(settings: Settings) -> None:
    assert RECORDED.exists(), f"record it: BATON_RECORD_HISTORIES=1 pytest {__file__} -k record"
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=data_converter(settings.model_copy(update={"blob_store_url": ""})),
    )
    history = WorkflowHistory.from_json(RECORDED.stem, RECORDED.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_a_large_value_is_not_copied_into_the_steps_log_entry() -> None:
    large = {"text": "x" * (LOG_VALUE_BYTES + 1)}
    assert logged_value(large) == {
        "omitted": True,
        "size": len(json.dumps(large, separators=(",", ":"))),
        "detail": "too large for the log: read it from the step",
    }
    small = {"authorization": "Bearer abcdefghijklmnop", "n": 1}
    assert logged_value(small) == {"authorization": "[redacted]", "n": 1}
