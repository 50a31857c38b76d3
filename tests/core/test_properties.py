"""Property tests (hypothesis): whatever a user sends as a definition or writes as an expression, Baton
answers a validation error naming where, or a value; never a crash of another kind."""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from core.expressions import ExpressionError, compile_expression, evaluate, render_value
from tests.chaos.conftest import record
from tests.core.test_definition_validation import action_schema

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.fuzz
TRIED: Counter[str] = Counter()  # examples run per property, for the fuzz figures


def tried(name: str) -> None:
    TRIED[name] += 1


@pytest.fixture(autouse=True, scope="module")
def _figures() -> Iterator[None]:
    yield
    record(
        "hypothesis properties (definitions, expressions, rendering)",
        cases=sum(TRIED.values()),
        by_property=dict(TRIED),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
STEP_TYPES = ["action", "condition", "switch", "loop", "parallel", "delay", "approval", "set", "subworkflow",
              "respond", "stop", "nonsense"]  # fmt: skip
FIELDS = ["id", "type", "action", "input", "if", "then", "else", "items", "steps", "branches", "seconds",
          "until", "message", "timeoutSeconds", "values", "status", "body", "retry", "onError",
          "connectionId", "workflowId", "cases", "default", "value", "label"]  # fmt: skip


def steps_strategy() -> st.SearchStrategy[Any]:
    field_value = json_values | st.sampled_from(STEP_TYPES) | st.just("{{ trigger.body.x }}")
    step = st.dictionaries(st.sampled_from(FIELDS), field_value, max_size=7)
    return st.lists(step | json_values, max_size=5)


definitions = st.fixed_dictionaries(
    {},
    optional={
        "triggerType": st.sampled_from(["MANUAL", "WEBHOOK", "SCHEDULE", "POLLING", "OTHER"]) | json_values,
        "triggerConfig": json_values,
        "steps": steps_strategy() | json_values,
    },
)


@PROPERTY
@given(definition=definitions)
def test_any_definition_is_valid_or_refused_with_paths(definition: dict[str, Any]) -> None:
    tried("definitions")
    try:
        validate_definition(definition, action_schema=action_schema)
    except InvalidDefinition as exc:
        refused = exc
    else:
        return
    assert refused.issues, refused
    for issue in refused.issues:
        assert isinstance(issue["path"], str)
        assert issue["message"]


EXPRESSION_PARTS = [
    "trigger", "steps", "vars", "item", ".", "[", "]", "(", ")", "|", "+", "-", "*", "/", "**", "%", "~",
    " if ", " else ", " and ", " not ", "==", "<", "'a'", "1", "9" * 30, "__class__", "__globals__", "mro",
    "format", "attr", "join", "length", "upper", "tojson", "round", "int", "range", "lipsum", "cycler",
    "self", "config", "request", "{{", "}}", "{%", "%}", ",", ":", "{", "}", "x",
]  # fmt: skip
expressions = st.lists(
    st.sampled_from(EXPRESSION_PARTS) | st.text(string.printable, max_size=3), max_size=14
).map(lambda parts: "{{ " + "".join(parts) + " }}")
SCOPE = {"trigger": {"body": {"x": 1, "items": [1, 2, 3], "name": "Ada"}}, "steps": {}, "vars": {"n": 2}}


@PROPERTY
@given(source=expressions | st.text(max_size=40))
def test_any_expression_evaluates_or_raises_an_expression_error(source: str) -> None:
    tried("expressions")
    try:
        compile_expression(source)
    except ExpressionError:
        pass
    try:
        value = evaluate(source, SCOPE)
    except ExpressionError as exc:
        message = str(exc)
    else:
        # whatever comes out is plain data: nothing of Python's internals leaks into a run's values
        assert not callable(value), repr(value)
        assert "<class" not in repr(value), repr(value)
        assert "<function" not in repr(value), repr(value)
        return
    assert message


@PROPERTY
@given(value=json_values, source=expressions)
def test_render_value_keeps_shapes_and_locates_errors(value: Any, source: str) -> None:
    tried("rendering")
    document = {"a": [value, {"b": source}]}
    try:
        rendered = render_value(document, SCOPE, "input")
    except ExpressionError as exc:
        where = exc.where
    else:
        assert isinstance(rendered, dict)
        assert len(rendered["a"]) == 2
        return
    assert where.startswith("input"), where
