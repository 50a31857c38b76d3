"""The expression language: native values, rendering, errors, and no way out of the data."""

from __future__ import annotations

from typing import Any

import pytest

from core.expressions import ExpressionError, evaluate, names_used, render_value

SCOPE: dict[str, Any] = {
    "trigger": {"body": {"email": "ada@example.com", "items": [1, 2, 3], "n": 5, "_id": "x1"}},
    "steps": {"lookup": {"output": {"body": {"tier": "gold"}}}},
    "vars": {"greeting": "hi"},
    "execution": {"id": "e1", "startedAt": "2026-01-01T00:00:00Z"},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ steps.lookup.output.body.tier == 'gold' }}", True),
        ("{{ trigger.body.items }}", [1, 2, 3]),
        ("{{ trigger.body.n * 2 + 1 }}", 11),
        ("{{ trigger.body.items | length }}", 3),
        ("{{ trigger.body.items[-1] }}", 3),
        ("{{ trigger.body['email'] | upper }}", "ADA@EXAMPLE.COM"),
        ("{{ trigger.body.missing }}", None),
        ("{{ trigger.body.missing.deeper }}", None),
        ("{{ trigger.body.missing | default('none') }}", "none"),
        ("{{ trigger.body._id }}", "x1"),
        ("Hello {{ trigger.body.email }}, {{ vars.greeting }}!", "Hello ada@example.com, hi!"),
        (
            "{{ trigger.body | tojson }}",
            '{"email": "ada@example.com", "items": [1, 2, 3], "n": 5, "_id": "x1"}',
        ),
        ("{{ execution.startedAt | add_days(1) }}", "2026-01-02T00:00:00Z"),
        ("{{ execution.startedAt | date_format('%d/%m/%Y') }}", "01/01/2026"),
        ("{{ trigger.body.n | range }}", [0, 1, 2, 3, 4]),
        ("{{ 2 | range(trigger.body.n + 1) }}", [2, 3, 4, 5]),
        ("{{ 0 | range(10, 5) }}", [0, 5]),
        ("no expression here", "no expression here"),
        ("{% for x in trigger %}literal{% endfor %}", "{% for x in trigger %}literal{% endfor %}"),
    ],
)
def test_expressions_evaluate_to_native_values_or_text(source: str, expected: Any) -> None:
    assert evaluate(source, SCOPE) == expected


def test_render_value_keeps_the_shape_of_json() -> None:
    value = {"to": "{{ trigger.body.email }}", "ids": ["{{ trigger.body.n }}", 7], "flag": True}
    assert render_value(value, SCOPE) == {"to": "ada@example.com", "ids": [5, 7], "flag": True}


def test_an_error_names_the_field_and_the_expression() -> None:
    with pytest.raises(ExpressionError) as caught:
        render_value({"a": {"b": "{{ 1 / 0 }}"}}, SCOPE, "step 'calc' input")
    assert str(caught.value) == "step 'calc' input.a.b: ZeroDivisionError: division by zero in '{{ 1 / 0 }}'"


def test_syntax_errors_are_reported() -> None:
    with pytest.raises(ExpressionError, match="syntax error"):
        evaluate("{{ trigger.body.( }}", SCOPE)


# Classic server-side template injection payloads: each must fail with a clear error, never run code.
INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.mro()[1].__subclasses__() }}",
    "{{ trigger.__class__.__init__.__globals__ }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ '{0.__class__}'.format(trigger) }}",
    "{{ trigger | attr('__class__') }}",
    "{{ trigger['__class__'] }}",
    "{{ trigger.body.items.pop() }}",
    "{{ range(10**9) | list }}",
    "{{ 'a' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ ((9**99)**99)**99 }}",
    "{{ 2 ** 100000 }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_template_injection_payloads_fail_with_a_clear_error(payload: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(payload, SCOPE)
    message = str(caught.value)
    assert any(
        reason in message
        for reason in (
            "not data",
            "unknown name",
            "calling functions is not allowed",
            "longer than",
            "exceed",
            "exponent",
        )
    ), message


def test_names_used_lists_the_data_an_expression_reads() -> None:
    assert names_used("{{ steps.a.output.x }} and {{ steps['b'].output }} {{ trigger.body }}") == {
        ("steps", "a"),
        ("steps", "b"),
        ("steps",),
        ("trigger",),
        ("trigger", "body"),
    }


# Each of these allocated gigabytes, or stalled the workflow task past its deadlock timeout, before every
# operator and filter had a size budget and an evaluation a step budget.
AMPLIFIERS = [
    "{{ [[1]*100000]*100 }}",
    "{{ [[[1]*1000]*1000]*10 }}",
    "{{ 'a'|center(10**9) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%.999999999f' % 1 }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ 'a'|indent(10**9) }}",
    "{{ ('x' * 100000)|replace('x', 'yyyyyyyyyyyy') }}",
    "{{ ('x' * 100000)|replace('', 'yyyyyyyyyyyy') }}",
    "{{ ['x' * 100000] * 10 }}",
    "{{ (['x' * 1000] * 1000)|join('y' * 1000) }}",
    "{{ [1]|tojson(10**9) }}",
    "{{ (10**9) | range }}",
    "{{ ('a' * 100000) + ('b' * 100000) + ('c' * 100000) + ('d' * 100000) + ('e' * 100000) + ('f' * 100000) "
    "+ ('g' * 100000) + ('h' * 100000) + ('i' * 100000) + ('j' * 100000) + ('k' * 100000) }}",
]


@pytest.mark.parametrize("source", AMPLIFIERS)
def test_every_operator_and_filter_respects_the_size_budget(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, SCOPE)
    message = str(caught.value)
    assert source in message  # the error names the expression
    limits = ("size budget", "longer than", "tojson's indent", "widths", "the limit is")
    assert any(word in message for word in limits), message


def test_an_evaluation_has_a_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.expressions.bounds as expressions  # where the budget is kept

    monkeypatch.setattr(expressions, "MAX_STEPS", 1000)
    scope = {"trigger": {"items": list(range(5000))}}
    with pytest.raises(ExpressionError, match="more than 1,000 steps"):
        evaluate("{{ trigger.items|map('string')|join(',') }}", scope)
    assert evaluate("{{ trigger.items[:10]|map('string')|join(',') }}", scope) == "0,1,2,3,4,5,6,7,8,9"


def test_ordinary_expressions_still_work_within_the_budgets() -> None:
    scope = {"trigger": {"names": ["ada", "bob"], "n": 3}}
    assert evaluate("{{ trigger.names|map('upper')|join(', ') }}", scope) == "ADA, BOB"
    assert evaluate("{{ '%s has %03d' % ('ada', trigger.n) }}", scope) == "ada has 003"
    assert evaluate("{{ 'a-b'|replace('-', '+') }}", scope) == "a+b"
    assert evaluate("{{ 'x'|center(5) }}", scope) == "  x  "
    assert evaluate("{{ trigger|tojson(2) }}", scope).startswith("{\n  ")
    assert evaluate("{{ -trigger.n + 1 }}", scope) == -2
    assert evaluate("{{ [0] * 1000 }}", scope) == [0] * 1000
