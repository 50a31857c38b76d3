"""Text filters and tests (split, startswith/endswith/contains, bounded regular expressions, render_each),
defaults deep in a missing path, strict evaluation naming the missing path, and the examples
docs/definition.md shows for them."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from core.expressions import MAX_SIZE, ExpressionError, compile_expression, evaluate, names_used, render_value
from core.expressions.text import MAX_PATTERN, REGEX_SECONDS
from tests.engine import Engine

DEFINITION_PAGE = Path(__file__).resolve().parents[2] / "docs" / "definition.md"
CONTACTS = [
    {"name": "Ada Lovelace", "email": "ada@example.com"},
    {"name": "Alan Turing", "email": "alan@x.org"},
]
SCOPE: dict[str, Any] = {
    "trigger": {"name": "Ada  Lovelace", "ref": "INV-2026-0042", "tags": ["vip", "eu"], "contacts": CONTACTS},
    "steps": {"lookup": {"output": {"id": None, "body": {"tier": "gold"}}}},
    "execution": {"id": "e1"},
}
CATASTROPHIC = "a" * 50_000 + "b"


def run(source: str, strict: bool = False, **data: Any) -> Any:
    return evaluate(source, {**SCOPE, "trigger": {**SCOPE["trigger"], **data}}, strict)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ trigger.name | split }}", ["Ada", "Lovelace"]),
        ("{{ (trigger.name | split)[0] }}", "Ada"),
        ("{{ 'a,,b' | split(',') }}", ["a", "", "b"]),
        ("{{ 'a=b=c' | split('=', 1) }}", ["a", "b=c"]),
        ("{{ 'k=v' | split('=', maxsplit=1) | last }}", "v"),
        ("{{ trigger.ref | startswith('INV-') }}", True),
        ("{{ trigger.ref | startswith(['PO-', 'INV-']) }}", True),
        ("{{ trigger.ref | endswith('42') }}", True),
        ("{{ trigger.ref | endswith('43') }}", False),
        ("{{ trigger.ref | contains('2026') }}", True),
        ("{{ trigger.tags | contains('vip') }}", True),
        ("{{ trigger | contains('ref') }}", True),
        ("{{ trigger.tags | contains(['x']) }}", False),
        ("{{ trigger.ref is startswith('INV') }}", True),
        ("{{ trigger.tags | select('startswith', 'v') | list }}", ["vip"]),
        ("{{ trigger.tags | reject('contains', 'u') | list }}", ["vip"]),
        ("{{ trigger.ref | regex_match('INV-\\d{4}-\\d+') }}", True),
        ("{{ trigger.ref | regex_match('\\d+') }}", False),  # the whole text, not a part
        ("{{ trigger.ref | regex_match('inv-.*', ignorecase=true) }}", True),
        ("{{ trigger.ref | regex_search('\\d+') }}", "2026"),
        ("{{ trigger.ref | regex_search('(?P<year>\\d{4})-(\\d+)', 'year') }}", "2026"),
        ("{{ trigger.ref | regex_search('(\\d{4})-(\\d+)', 2) }}", "0042"),
        ("{{ trigger.ref | regex_search('xyz') }}", None),
        ("{{ trigger.ref is regex_search('\\d') }}", True),
        ("{{ trigger.ref | regex_findall('\\d+') }}", ["2026", "0042"]),
        ("{{ 'a=1;b=2' | regex_findall('(\\w)=(\\d)') }}", [["a", "1"], ["b", "2"]]),
        ("{{ trigger.ref | regex_replace('\\d', '#') }}", "INV-####-####"),
        ("{{ trigger.ref | regex_replace('(\\d+)-(\\d+)', '\\g<2>/\\g<1>') }}", "INV-0042/2026"),
        ("{{ trigger.ref | regex_replace('\\d', '', count=2) }}", "INV-26-0042"),
        ("{{ trigger.name | replace('  ', ' ') }}", "Ada Lovelace"),
        ("{{ trigger.tags | join(', ') }}", "vip, eu"),
        (
            "{{ trigger.contacts | render_each('{{ item.name }} <{{ item.email }}>') }}",
            ["Ada Lovelace <ada@example.com>", "Alan Turing <alan@x.org>"],
        ),
        (
            "{{ trigger.contacts | render_each('{{ index + 1 }}. {{ item.name | split | first }}', '\n') }}",
            "1. Ada\n2. Alan",
        ),
        ("{{ {'a': 1, 'b': 2} | render_each('{{ item.key }}={{ item.value }}', '&') }}", "a=1&b=2"),
        ("{{ trigger.tags | render_each('{{ item }}@{{ execution.id }}') }}", ["vip@e1", "eu@e1"]),
        (
            "To: {{ trigger.contacts | render_each('{{ item.email }}', '; ') }}",
            "To: ada@example.com; alan@x.org",
        ),
    ],
)
def test_text_filters_give_what_people_mean(source: str, expected: Any) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    "name",
    ["split", "startswith", "endswith", "contains", "regex_match", "regex_search", "regex_findall",
     "regex_replace"],
)  # fmt: skip
def test_the_filters_are_known_to_validation_on_save(name: str) -> None:
    compile_expression(f"{{{{ trigger.x | {name}('a') }}}}")


def test_the_tests_are_known_to_validation_on_save() -> None:
    for name in ("startswith", "endswith", "contains", "regex_match", "regex_search"):
        compile_expression(f"{{{{ trigger.x is {name}('a') }}}}")
        compile_expression(f"{{{{ trigger.xs | select('{name}', 'a') | list }}}}")
    compile_expression("{{ trigger.xs | render_each('{{ item.a | upper }} of {{ trigger.b }}', ', ') }}")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ trigger.xs | render_each('{{ item | uper }}') }}",
            "unknown filter 'uper' (did you mean 'upper'?)",
        ),
        ("{{ trigger.xs | render_each('{{ secrets.x }}') }}", "unknown name 'secrets'"),
        ("{{ trigger.xs | render_each(trigger.template) }}", "the template must be a quoted text, not data"),
        ("{{ trigger.xs | render_each() }}", "the template must be a quoted text, not data"),
        ("{{ trigger.x is startingwith('a') }}", "No test named 'startingwith'"),
    ],
)
def test_templates_inside_render_each_are_checked_on_save(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        compile_expression(source)


def test_as_tests_a_missing_value_is_no_match_while_the_filters_say_it_is_missing() -> None:
    names = ["Ada", None, "Alan", "Bob"]
    assert run("{{ trigger.names | select('startswith', 'A') | list }}", names=names) == ["Ada", "Alan"]
    assert run("{{ trigger.names | reject('regex_search', '^B') | list }}", names=names) == [
        "Ada",
        None,
        "Alan",
    ]
    assert run("{{ trigger.nope is contains('x') }}") is False
    with pytest.raises(ExpressionError, match="trigger.nope is undefined"):  # strict: named, not skipped
        run("{{ trigger.nope is contains('x') }}", strict=True)
    with pytest.raises(ExpressionError, match=re.escape("startswith: its input is missing (null)")):
        run("{{ trigger.names | map('startswith', 'A') | list }}", names=names)


def test_render_each_inside_a_loop_binds_its_own_item_and_index() -> None:
    scope = {**SCOPE, "item": {"tags": ["a", "b"]}, "index": 7}
    source = "{{ item.tags | render_each('{{ index }}:{{ item }}', ',') }} of {{ index }}"
    assert evaluate(source, scope) == "0:a,1:b of 7"


def test_a_template_taken_from_the_data_is_refused_when_the_run_evaluates_it_too() -> None:
    with pytest.raises(ExpressionError, match="the template must be a quoted text"):
        run("{{ trigger.tags | render_each(trigger.tpl) }}", tpl="{{ steps.lookup.output }}")


def test_names_used_reads_an_expression_whose_quoted_template_holds_braces() -> None:
    used = names_used("{{ steps.lookup.output.list | render_each('{{ item.a }} {{ steps.other.output }}') }}")
    assert {("steps", "lookup"), ("steps", "other")} <= used
    assert not any(path[0] == "item" for path in used)  # render_each's own, not a loop's


def test_a_definition_is_checked_inside_render_each_templates_on_save() -> None:
    def step(template: str) -> dict[str, Any]:
        return {
            "id": "text",
            "type": "set",
            "values": {"v": f"{{{{ trigger.xs | render_each('{template}') }}}}"},
        }

    def issues(*steps: dict[str, Any]) -> list[tuple[str, str]]:
        with pytest.raises(InvalidDefinition) as caught:
            validate_definition({"triggerType": "MANUAL", "triggerConfig": {}, "steps": list(steps)},
                                action_schema=lambda _: None)  # fmt: skip
        return [(issue["path"], issue["message"]) for issue in caught.value.issues]

    definition = {"triggerType": "MANUAL", "triggerConfig": {}, "steps": [step("{{ index }}: {{ item.n }}")]}
    validate_definition(definition, action_schema=lambda _: None)  # item and index outside a loop: its own
    assert issues(step("{{ item.n | uper }}")) == [
        ("steps[0].values.v", "unknown filter 'uper' (did you mean 'upper'?)")
    ]
    assert issues(step("{{ steps.later.output }}"), {"id": "later", "type": "set"}) == [
        ("steps[0].values.v", "`steps.later` is not a step that has run before this one")
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ trigger.missing | split }}", "split: its input is missing (null)"),
        ("{{ trigger.tags | split }}", "split: its input must be text, not a list"),
        ("{{ 'abc' | split('') }}", "split: the separator is empty"),
        ("{{ 'abc' | regex_match('(') }}", "regex_match: invalid regular expression '('"),
        ("{{ 'abc' | regex_search('a', 3) }}", "regex_search: the pattern has no group 3"),
        ("{{ 'abc' | regex_replace('a', '\\g<9>') }}", "regex_replace: invalid replacement"),
        ("{{ 5 | contains('a') }}", "contains: its input must be text, a list or an object, not a int"),
        ("{{ 'abc' | render_each('{{ item }}') }}", "render_each: its input must be a list or an object"),
    ],
)
def test_bad_input_fails_with_an_expression_error_saying_what_is_wrong(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        run(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ trigger.s | regex_match('(a+)+$') }}",
        "{{ trigger.s | regex_search('(a+)+$') }}",
        "{{ trigger.s | regex_findall('(a|aa)+$') }}",
        "{{ trigger.s | regex_replace('(a+)+$', 'x') }}",
    ],
)
def test_a_catastrophic_pattern_stops_within_the_time_bound_and_says_so(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=r"the pattern took over 0\.25s on this text; simplify it"):
        run(source, s=CATASTROPHIC)
    assert time.monotonic() - started < REGEX_SECONDS + 1.0


def test_the_patterns_of_one_value_share_one_time_budget() -> None:
    fields = {f"f{i}": "{{ trigger.s | regex_match('(a+)+$') }}" for i in range(4)}
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="took over"):
        render_value(fields, {"trigger": {"s": CATASTROPHIC}}, "step 'check' values")
    assert time.monotonic() - started < REGEX_SECONDS + 1.0  # not four times the bound


def test_a_pattern_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(ExpressionError, match=f"longer than {MAX_PATTERN:,} characters"):
        run("{{ 'a' | regex_match(trigger.p) }}", p="a" * (MAX_PATTERN + 1))


def test_outputs_past_the_size_budget_are_refused_before_they_are_built() -> None:
    commas = "," * (MAX_SIZE // 2)
    with pytest.raises(ExpressionError, match="larger than the size budget"):
        run("{{ trigger.s | split(',') }}", s=commas)  # half a million commas: a million empty parts
    assert len(run("{{ trigger.s | split(',', 3) }}", s=commas)) == 4
    with pytest.raises(ExpressionError, match="larger than the size budget"):
        run("{{ trigger.s | regex_replace('', trigger.r) }}", s="a" * 2000, r="x" * 1000)
    with pytest.raises(ExpressionError, match="larger than the size budget"):  # a group brought back often
        run("{{ trigger.s | regex_replace('(.+)', '\\\\1' * 400) }}", s="a" * 5000)
    with pytest.raises(ExpressionError, match="larger than the size budget|steps"):
        run("{{ trigger.xs | render_each('{{ \"x\" * 2000 }}') }}", xs=list(range(1000)))


def test_render_each_shares_the_step_budget_of_its_expression() -> None:
    with pytest.raises(ExpressionError, match="steps"):
        run("{{ trigger.xs | render_each('{{ trigger.xs | length }}') }}", xs=list(range(2000)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ trigger.nope.deeper | default('x') }}", "x"),
        ("{{ trigger.nope.deeper | d('x') }}", "x"),
        ("{{ steps.lookup.output.id | default('none', true) }}", "none"),
        ("{{ trigger.nope.deeper is defined }}", False),
    ],
)
def test_a_default_covers_a_path_missing_deep_in_the_chain_strict_or_not(source: str, expected: Any) -> None:
    assert run(source) == expected
    assert run(source, strict=True) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ trigger.nope.deeper }}", "trigger.nope is undefined"),
        ("{{ trigger.contacts[5].name }}", "trigger.contacts[5] is undefined"),
        ("{{ trigger.contacts[0].phone }}", "trigger.contacts[0].phone is undefined"),
        ("https://crm.example/contacts/{{ steps.find.output.id }}/edit", "steps.find is undefined"),
        ("{{ trigger['a b'] | upper }}", "trigger['a b'] is undefined"),
        ("{{ trigger.nope == 1 }}", "trigger.nope is undefined"),
        ("{{ trigger.contacts | render_each('{{ item.phone }}') }}", "item.phone is undefined"),
    ],
)
def test_a_strict_evaluation_fails_naming_the_missing_path(source: str, message: str) -> None:
    assert run(source) in (None, False, "https://crm.example/contacts//edit", "", ["", ""])
    with pytest.raises(ExpressionError, match=re.escape(message)):
        run(source, strict=True)


@pytest.mark.parametrize(
    "source",
    [
        "{{ trigger.nope | split }}",
        "{{ trigger.nope.list | render_each('{{ item }}') }}",
        "{{ trigger.nope | sha256 }}",
    ],
)
def test_a_filter_given_a_missing_path_names_it_when_strict(source: str) -> None:
    with pytest.raises(ExpressionError, match="its input is missing"):
        run(source)
    with pytest.raises(ExpressionError, match="trigger.nope is undefined"):
        run(source, strict=True)


def test_strict_render_value_names_the_field_and_the_path() -> None:
    with pytest.raises(ExpressionError) as caught:
        render_value({"url": "/c/{{ trigger.contact.id }}"}, SCOPE, "step 'edit' input", strict=True)
    assert str(caught.value) == (
        "step 'edit' input.url: trigger.contact is undefined in '/c/{{ trigger.contact.id }}'"
    )
    assert render_value({"url": "/c/{{ trigger.ref }}"}, SCOPE, strict=True) == {"url": "/c/INV-2026-0042"}


def documented_examples() -> list[tuple[str, str]]:
    """The rows of docs/definition.md's text table: (example expression, what it gives)."""
    page = DEFINITION_PAGE.read_text()
    section = page.split("### Text, patterns and lists", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\|[^|]*\| `(\{\{.*?\}\})` \| `([^`]*)` \|$", section.replace("\\|", "|"), re.M)
    return [(source, gives) for source, gives in rows]


def test_the_documentation_has_an_example_of_every_text_filter() -> None:
    shown = " ".join(source for source, _ in documented_examples())
    for name in ("split", "startswith", "endswith", "contains", "regex_match", "regex_search",
                 "regex_findall", "regex_replace", "render_each", "default", "join", "replace"):  # fmt: skip
        assert f"| {name}" in shown, name


@pytest.mark.parametrize(("source", "gives"), documented_examples())
def test_each_documented_example_gives_what_the_page_says(source: str, gives: str) -> None:
    result = run(source)
    assert (result if isinstance(result, str) else json.dumps(result)) == gives


async def test_the_text_filters_work_inside_a_workflow_run(engine_worker: Engine) -> None:
    values = {
        "first": "{{ (trigger.name | split)[0] }}",
        "invoice": "{{ trigger.ref | startswith('INV-') and trigger.ref | regex_match('INV-\\d{4}-\\d+') }}",
        "number": "{{ trigger.ref | regex_search('(\\d+)$', 1) | int }}",
        "digits": "{{ trigger.ref | regex_findall('\\d+') }}",
        "masked": "{{ trigger.ref | regex_replace('\\d', '#') }}",
        "vip": "{{ trigger.tags | contains('vip') }}",
        "list": "{{ trigger.contacts | render_each('{{ index + 1 }}. {{ item.name }} <{{ item.email }}>',"
        " '\n') }}",
        "fallback": "{{ trigger.nope.deeper | default('n/a') }}",
    }
    steps = [{"id": "text", "type": "set", "values": values}]
    result = await engine_worker.run(steps, SCOPE["trigger"])
    assert result.result == {name: run(source) for name, source in values.items()}
    assert result.result["list"] == "1. Ada Lovelace <ada@example.com>\n2. Alan Turing <alan@x.org>"


async def test_a_runaway_pattern_fails_its_step_in_a_run_not_the_workflow_task(engine_worker: Engine) -> None:
    steps = [{"id": "check", "type": "set", "values": {"ok": "{{ trigger.s | regex_match('(a+)+$') }}"}}]
    handle = await engine_worker.start(steps, {"s": CATASTROPHIC})
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    error = (await engine_worker.execution(handle))["error"]
    assert error.startswith("step 'check' values.ok: not allowed: regex_match: the pattern took over 0.25s")
