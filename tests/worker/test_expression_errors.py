"""An expression that fails while it is evaluated fails its step (onError applies, the error names the step
and the field), never the workflow task: a failed task is retried for ever, the run stays RUNNING with no
error, and every local activity before the expression (an `http.request`) runs again on each retry.
Validation on save refuses the unknown tests and filters Jinja would only look up while the run evaluates
them; the runs here start without it (a definition from elsewhere) to show the interpreter alone holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from tests.core.test_definition_validation import action_schema, manual
from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import recording
from tests.worker.test_runs_end import ended

PATHS = Path(__file__).parent / "histories" / "paths"
record_only = recording


def fetch_then(url: str, expression: str, on_error: str = "fail") -> list[dict[str, Any]]:
    return [
        {"id": "fetch", "type": "action", "action": "http.request", "input": {"url": url}},
        {"id": "pick", "type": "set", "onError": on_error, "values": {"v": expression}},
    ]


PRICES = "{{ steps.fetch.output.body.items | selectattr('price', 'bigger', 10) | list }}"


async def test_an_unknown_test_fails_its_step_once_and_the_action_before_it_runs_once(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"items": [{"price": 5}, {"price": 20}]}))
    handle = await engine_worker.start(fetch_then(url, PRICES))
    status, error = await ended(engine_worker, handle)
    assert status == "FAILED"
    assert "step 'pick' values.v" in str(error)
    assert "bigger" in str(error)
    row = (await engine_worker.step_rows(handle))["pick"]
    assert row["status"] == "FAILED"
    assert "values.v" in row["error"]
    assert len(http_server.hits("/items")) == 1


async def test_an_expression_error_under_on_error_continue_lets_the_run_go_on(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"items": [1, 2]}))
    steps = [
        *fetch_then(url, "{{ steps.fetch.output.body.items | dictsort }}", on_error="continue"),
        {"id": "after", "type": "set", "values": {"why": "{{ steps.pick.output.error.type }}"}},
    ]
    handle = await engine_worker.start(steps)
    status, _ = await ended(engine_worker, handle)
    assert status == "SUCCESS"
    rows = await engine_worker.step_rows(handle)
    assert rows["pick"]["status"] == "FAILED"
    assert output(rows["after"]) == {"why": "ExpressionError"}
    assert len(http_server.hits("/items")) == 1


async def test_the_comparison_test_aliases_jinja_documents_work(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"items": [{"price": 5}, {"price": 20}]}))
    expression = "{{ steps.fetch.output.body.items | selectattr('price', '>', 10) | list }}"
    handle = await engine_worker.start(fetch_then(url, expression))
    assert (await ended(engine_worker, handle))[0] == "SUCCESS"
    assert output((await engine_worker.step_rows(handle))["pick"]) == {"v": [{"price": 20}]}


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("{{ trigger.items | selectattr('price', 'bigger', 10) | list }}", "unknown test 'bigger'"),
        ("{{ trigger.items | select('od') | list }}", "unknown test 'od' (did you mean 'odd'?)"),
        ("{{ trigger.items | map('lowr') | list }}", "unknown filter 'lowr' (did you mean 'lower'?)"),
        ("{{ 1 if (trigger.x is nosuch) else 2 }}", "unknown test 'nosuch'"),
        ("total: {{ trigger.items | reject('blank') | list }}", "unknown test 'blank'"),
    ],
)
def test_validation_refuses_tests_and_filters_named_only_at_run_time(expression: str, named: str) -> None:
    definition = manual({"id": "pick", "type": "set", "values": {"v": expression}})
    with pytest.raises(InvalidDefinition) as caught:
        validate_definition(definition, action_schema=action_schema)
    assert [(i["path"], named in i["message"]) for i in caught.value.issues] == [("steps[0].values.v", True)]


# Broken expressions of every kind the evaluator meets: names Jinja looks up only when they run, filters
# given data of the wrong shape, arithmetic that cannot be done, values over the budgets.
BROKEN_PARTS = [
    "[1, 2] | selectattr('price', 'bigger', 10) | list",
    "[1, 2] | select('nosuch') | list",
    "[1, 2] | map('nofilter') | list",
    "1 if (2 is nosuch) else 3",
    "[1] | dictsort",
    "'x' | items",
    "[1] | tojson(indent='x')",
    "'{' | fromjson",
    "'x' | int + 'y'",
    "1 / 0",
    "1 // 0",
    "1 % 0",
    "trigger.none.a.b | first",
    "none | length",
    "(none | default(none)) + 1",
    "'2020-13-45' | to_datetime",
    "'x' | add_days('y')",
    "'2020-01-01' | date_format(none)",
    "1e308 * 10 | int",
    "range(10) ",
    "10**10 | range",
    "'a' * 10**7",
    "[1, 2] | batch(0) | list",
    "[1, 2] | slice(0) | list",
    "[1, 2] | sum(start='x')",
    "{'a': 1} | attr('b') | upper",
    "[3, 'a'] | sort",
    "[3, 'a'] | max",
    "'%d' % 'x'",
    "'x' | format(1, 2)",
    "'{0}'.format(1)",
    "[1] | join(attribute='a.b')",
    "[1] | round",
    "'x' | round(none)",
    "[{'a': 1}, 2] | map(attribute='a') | sum",
]
on_errors = st.sampled_from(["fail", "continue"])


def collected_examples(count: int) -> list[tuple[str, str]]:
    """`count` broken expressions (one part, or one wrapped in another or in text), drawn by hypothesis;
    derandomized so a failure is the same on every run."""
    wrapped = st.builds(
        lambda part, shape: shape.format(part),
        st.sampled_from(BROKEN_PARTS),
        st.sampled_from(
            ["{{{{ {} }}}}", "total: {{{{ {} }}}}", "{{{{ ({}) | default(1) }}}}", "{{{{ [{}] | first }}}}"]
        ),
    )
    found: list[tuple[str, str]] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(wrapped, on_errors)
    def collect(expression: str, on_error: str) -> None:
        found.append((expression, on_error))

    collect()
    return found[:count]


@pytest.mark.fuzz
async def test_broken_expressions_end_their_run_and_never_repeat_the_action_before_them(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    examples = collected_examples(40)
    handles = []
    for number, (expression, on_error) in enumerate(examples):
        url = http_server.script(f"/page/{number}", Reply(200, {"items": [{"price": 20}]}))
        handles.append(await engine_worker.start(fetch_then(url, expression, on_error)))
    outcomes = [await ended(engine_worker, handle) for handle in handles]  # the runs go on side by side
    for number, ((expression, on_error), (status, error)) in enumerate(zip(examples, outcomes, strict=True)):
        case = f"{expression!r} (onError {on_error})"
        assert status in {"SUCCESS", "FAILED"}, case
        assert len(http_server.hits(f"/page/{number}")) == 1, f"the action ran again before {case}"
        if status == "FAILED":
            assert on_error == "fail", case
            assert "step 'pick' values.v" in str(error), case


@record_only
async def test_record_a_run_whose_expression_error_is_continued(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"items": [1, 2]}))
    steps = [
        *fetch_then(
            url, "{{ steps.fetch.output.body.items | selectattr('n', 'bigger', 1) | list }}", "continue"
        ),
        {"id": "after", "type": "set", "values": {"why": "{{ steps.pick.output.error.type }}"}},
    ]
    handle = await engine_worker.start(steps)
    assert (await handle.result()).status == "SUCCESS"
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "expression_error_continued.json").write_text((await handle.fetch_history()).to_json())
