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
