"""Strict expressions: a workflow with `strictExpressions` fails the step whose expression reads a missing
path, naming the path (`trigger.nope is undefined`), instead of carrying on with null; `url` fields are strict
in every workflow (a missing lookup would otherwise call `.../contacts//edit`). `| default(x)` and
`is defined` still say a path may be absent. Runs recorded before the `strict-expressions` patch replay as
they ran (tests/worker/histories/paths/strict_expression_failed.json is a run after it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.expressions import STRICT_KEYS, ExpressionError, asks_strict, render_value
from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import recording
from tests.worker.test_runs_end import ended

PATHS = Path(__file__).parent / "histories" / "paths"
SCOPE = {"trigger": {"contact": {"id": 7}}, "steps": {}, "vars": {}}


def test_url_fields_are_strict_and_the_others_are_not_unless_asked() -> None:
    value = {"url": "https://crm.test/contacts/{{ trigger.contact.key }}/edit", "note": "{{ trigger.nope }}"}
    with pytest.raises(ExpressionError) as caught:
        render_value(value, SCOPE, "step 'edit' input", strict_keys=STRICT_KEYS)
    assert "trigger.contact.key is undefined" in str(caught.value)
    assert "input.url" in str(caught.value)
    assert render_value({"note": "{{ trigger.nope }}"}, SCOPE, strict_keys=STRICT_KEYS) == {"note": None}
    with pytest.raises(ExpressionError, match="trigger.nope is undefined"):
        render_value({"note": "{{ trigger.nope }}"}, SCOPE, strict=True)
    fine = {"url": "https://crm.test/{{ trigger.contact.id }}/{{ trigger.page | default(1) }}"}
    assert render_value(fine, SCOPE, strict_keys=STRICT_KEYS) == {"url": "https://crm.test/7/1"}


def test_only_values_with_an_expression_under_a_strict_key_ask_for_strictness() -> None:
    assert asks_strict({"url": "https://x/{{ trigger.a }}"})
    assert asks_strict({"requests": [{"headers": {}, "url": {"base": "{{ trigger.a }}"}}]})
    assert not asks_strict({"url": "https://x/plain", "text": "{{ trigger.a }}"})
    assert not asks_strict("{{ trigger.url }}")


PICK = [{"id": "pick", "type": "set", "values": {"name": "{{ trigger.contact.nmae }}"}}]


async def test_a_strict_workflow_fails_the_step_naming_the_missing_path(engine_worker: Engine) -> None:
    handle = await engine_worker.start(PICK, {"contact": {"name": "Ada"}}, strict_expressions=True)
    status, error = await ended(engine_worker, handle)
    assert status == "FAILED"
    assert "trigger.contact.nmae is undefined" in str(error)
    assert "step 'pick' values.name" in str(error)
    lenient = await engine_worker.start(PICK, {"contact": {"name": "Ada"}})
    assert (await ended(engine_worker, lenient))[0] == "SUCCESS"
    assert output((await engine_worker.step_rows(lenient))["pick"]) == {"name": None}


async def test_a_url_with_a_missing_path_fails_before_any_request(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    base = http_server.script("/contacts/7/edit", Reply(200, {"ok": True})).removesuffix("/contacts/7/edit")
    steps = [
        {
            "id": "edit",
            "type": "action",
            "action": "http.request",
            "input": {"url": base + "/contacts/{{ trigger.contact.key }}/edit"},
        }
    ]
    handle = await engine_worker.start(steps, {"contact": {"id": 7}})
    status, error = await ended(engine_worker, handle)
    assert status == "FAILED"
    assert "trigger.contact.key is undefined" in str(error)
    assert http_server.requests == []  # not `/contacts//edit`: no request at all
    fixed = [{**steps[0], "input": {"url": base + "/contacts/{{ trigger.contact.id }}/edit"}}]
    again = await engine_worker.start(fixed, {"contact": {"id": 7}})
    assert (await ended(engine_worker, again))[0] == "SUCCESS"
    assert len(http_server.hits("/contacts/7/edit")) == 1


@recording
async def test_record_a_strict_run_that_fails_on_a_missing_path(engine_worker: Engine) -> None:
    handle = await engine_worker.start(PICK, {"contact": {}}, strict_expressions=True)
    assert (await ended(engine_worker, handle))[0] == "FAILED"
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "strict_expression_failed.json").write_text((await handle.fetch_history()).to_json())
