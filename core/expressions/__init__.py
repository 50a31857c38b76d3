"""The `{{ ... }}` expression language of workflow definitions, on Jinja2's immutable sandbox.

Why Jinja2: a well-kept, well-audited expression engine users of n8n/Ansible already read. We narrow it:
- names resolve only to the run's data (`trigger`, `steps`, `vars`, `item`, `index`, `execution`);
- `a.b` and `a[b]` only index into dicts and lists: no Python attribute is ever read, so the classic
  template-injection walks (`__class__`, `__globals__`, `mro`, `"{0.__class__}".format`) find nothing;
- only expressions: `{% %}` statements and `{# #}` comments are plain text, there are no global functions;
- every evaluation is bounded in size and in time: the result and every intermediate value of an operator or
  a filter stay within MAX_SIZE (characters plus items, nested lists counted whole, so `[[1]*100000]*100`
  is refused before it is built), the amplifying filters and operators (`*`, `**`, `+`, `%`, `center`,
  `indent`, `format`, `replace`, `join`, `tojson`) are checked before they run, and an evaluation may take
  at most MAX_STEPS operations (lookups, operators, filter calls, items a filter walks);
- filters are a fixed, deterministic list (no `random`, no clock: dates come from the data; encoding,
  hashing and HMAC filters are in core/expressions/encoding.py; text, regular-expression and per-item
  template filters in core/expressions/text.py, whose patterns also have a time budget).

A missing path is `null` unless the evaluation is strict (`strict=True`, core/expressions/strict.py): then
using it fails naming it (`trigger.nope is undefined`), though `| default(x)` and `is defined` still work.

A string that is exactly one `{{ ... }}` yields the value's native type; mixed text renders to a string.
Compiled expressions are cached by source, so a definition is compiled once per worker process.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.filters
import jinja2.meta
import jinja2.nodes
import jinja2.sandbox
import jinja2.tests
from jinja2.exceptions import SecurityError

from core.expressions.bounds import (
    _PASS_REFERENCES,
    FILTERS,
    MAX_EXPONENT,
    MAX_INTEGER_BITS,
    MAX_SEQUENCE,
    MAX_SIZE,
    MAX_STEPS,
    SCOPE_NAMES,
    TESTS,
    ExpressionError,
    _budgeted,
    _budgeted_filter,
    _check_printf,
    _checked,
    _DataOnlyUndefined,
    _fits,
    _plain,
    _sized,
    _spend,
    passing_references,
    size_of,
)
from core.expressions.encoding import ENCODING_FILTERS
from core.expressions.strict import (
    STRICT_KEYS,
    StrictUndefined,
    asks_strict,
    known_paths,
    missing,
    tracked_paths,
)
from core.expressions.text import TEXT_FILTERS, TEXT_TESTS, regex_time

__all__ = [
    "MAX_SIZE",
    "MAX_STEPS",
    "STRICT_KEYS",
    "ExpressionError",
    "asks_strict",
    "passing_references",
    "compile_expression",
    "evaluate",
    "has_expression",
    "names_used",
    "render_value",
    "size_of",
]

# Searched only up to the last "}}" (`_closed`): an unclosed "{{" would otherwise be read to the end of the
# text from each "{{" after it, quadratic in a long value.
EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
# A quoted string may hold "}}" (`render_each('{{ item.name }}')`); the three alternatives start with
# different characters, so a failed match is linear, and an unclosed quote is no whole expression (the
# text path then reports the syntax error).
WHOLE_EXPRESSION = re.compile(
    r"""^\s*\{\{(?P<body>(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?!\}\})[^'"])*)\}\}\s*$""", re.S
)
# A whole expression that only names a value of the run's data (`{{ steps.fetch.output.body }}`,
# `{{ item['rows'][0] }}`) makes nothing new: under `passing_references()` its result is not held to the
# size budget, so a run with a blob store hands on values up to its MAX_VALUE_BYTES (worker.run_state).
REFERENCE = re.compile(
    r"""^\s*[A-Za-z_]\w*(?:\s*(?:\.\s*[A-Za-z_]\w*|\[\s*(?:-?\d+|'[^'\\]*'|"[^"\\]*")\s*\]))*\s*$"""
)


class DataOnlyEnvironment(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox where `.` and `[]` index data and nothing else."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    intercepted_unops = frozenset({"-", "+"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self.getitem(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        if isinstance(argument, str) and argument.startswith("__") and argument.endswith("__"):
            raise SecurityError(f"{argument!r} is not data: Python internals are not reachable")
        if isinstance(obj, Mapping):
            if argument in obj:
                return obj[argument]
        elif isinstance(obj, Sequence) and not isinstance(obj, str | bytes):
            if (
                isinstance(argument, int)
                and not isinstance(argument, bool)
                and -len(obj) <= argument < len(obj)
            ):
                return obj[argument]
            if isinstance(argument, slice):
                return obj[argument]
        elif isinstance(obj, str) and isinstance(argument, int | slice) and not isinstance(argument, bool):
            try:
                return obj[argument]
            except IndexError:
                pass
        return self._missing(obj, argument)

    def _missing(self, obj: Any, argument: Any) -> Any:
        return self.undefined(obj=obj, name=str(argument))

    def call_unop(self, context: Any, operator_name: str, arg: Any) -> Any:  # noqa: ARG002
        _spend()
        return operator.neg(arg) if operator_name == "-" else operator.pos(arg)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:  # noqa: ARG002
        _spend()
        if operator_name == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _fits(size_of(left) + size_of(right), "the sum")
            return operator.add(left, right)
        if operator_name == "%":
            if isinstance(left, str):
                _check_printf(left, right)
            return operator.mod(left, right)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
                if right * abs(left).bit_length() > MAX_INTEGER_BITS:
                    raise SecurityError(f"the result would exceed {MAX_INTEGER_BITS} bits")
            return operator.pow(left, right)
        count = right if isinstance(right, int) else left if isinstance(left, int) else 1
        if max(_sized(left), _sized(right)) * abs(count) > MAX_SEQUENCE:
            raise SecurityError(f"result longer than {MAX_SEQUENCE} items")
        sequence = left if isinstance(left, str | list | tuple) else right
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            # nested lists are counted whole: [[1]*100000]*100 holds ten million items once rendered
            _fits(size_of(sequence) * max(0, count), "the product")
        return operator.mul(left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805, ARG002
        # Only filters and tests run code; data never holds callables, so any call is an escape attempt.
        raise SecurityError("calling functions is not allowed in expressions")


class StrictEnvironment(DataOnlyEnvironment):
    """Where a missing path is an undefined that fails when used, naming the path it was read from."""

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, jinja2.Undefined):  # `trigger.nope.deeper` names its first missing part
            return obj
        found = super().getitem(obj, argument)
        if not isinstance(found, jinja2.Undefined) and not isinstance(argument, slice):
            tracked_paths(obj, argument, found)
        return found

    def _missing(self, obj: Any, argument: Any) -> Any:
        return self.undefined(hint=missing(obj, argument), obj=obj, name=str(argument))


def _environment(strict: bool = False) -> DataOnlyEnvironment:
    env = (StrictEnvironment if strict else DataOnlyEnvironment)(
        undefined=StrictUndefined if strict else _DataOnlyUndefined,
        autoescape=False,
        # Statements and comments are not part of the language: make their delimiters unmatchable.
        block_start_string="\x00{%",
        block_end_string="%}\x00",
        comment_start_string="\x00{#",
        comment_end_string="#}\x00",
        keep_trailing_newline=True,
    )
    env.globals.clear()
    env.filters = dict(FILTERS) | {
        name: _budgeted_filter(name, function) for name, function in (ENCODING_FILTERS | TEXT_FILTERS).items()
    }
    env.tests = dict(TESTS) | TEXT_TESTS
    return env


ENVIRONMENT = _environment()
STRICT_ENVIRONMENT = _environment(strict=True)


def has_expression(value: str) -> bool:
    return "{{" in value and EXPRESSION.search(value, 0, _closed(value)) is not None


def _closed(source: str) -> int:
    """Where the last "}}" of `source` ends: past it no "{{" is closed, so no search need look there."""
    return source.rfind("}}") + 2


def _check_names(tree: jinja2.nodes.Template, source: str, names: tuple[str, ...] = SCOPE_NAMES) -> None:
    unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - set(names))
    if unknown:
        raise ExpressionError(
            f"unknown name {unknown[0]!r}; expressions can read {', '.join(names)}", source=source
        )


@lru_cache(maxsize=4096)
def _compile_whole(body: str, strict: bool = False, names: tuple[str, ...] = SCOPE_NAMES) -> Any:
    tree = ENVIRONMENT.parse("{{" + body + "}}")
    _check_names(tree, "{{" + body + "}}", names)
    _check_templates(tree, "{{" + body + "}}")
    if strict:  # the result's undefined is checked by `evaluate`, which names its path
        return STRICT_ENVIRONMENT.compile_expression(body, undefined_to_none=False)
    return ENVIRONMENT.compile_expression(body, undefined_to_none=True)


@lru_cache(maxsize=4096)
def _compile_text(source: str, strict: bool = False, names: tuple[str, ...] = SCOPE_NAMES) -> jinja2.Template:
    tree = ENVIRONMENT.parse(source)
    _check_names(tree, source, names)
    _check_templates(tree, source)
    return (STRICT_ENVIRONMENT if strict else ENVIRONMENT).from_string(source)


def _check_templates(tree: jinja2.nodes.Template, source: str) -> None:
    """`render_each`'s template must be written in the definition: one taken from the data (a webhook's
    payload) would let whoever sends it choose what the run's data is rendered into."""
    for node in tree.find_all(jinja2.nodes.Filter):
        if node.name == "render_each" and not (
            node.args and isinstance(node.args[0], jinja2.nodes.Const) and isinstance(node.args[0].value, str)
        ):
            raise ExpressionError("render_each: the template must be a quoted text, not data", source=source)


def compile_expression(source: str, names: tuple[str, ...] = SCOPE_NAMES) -> None:
    """Parses `source` and checks every filter and test it names, also those named by a string
    (`select('odd')`, `map('lower')`) or inside `x if c else y` that Jinja would only look up when they
    run (raises ExpressionError); the compiled form is cached for evaluation. `names`: the names it may
    read (an action's own expressions read their own, e.g. http.request's pages `response` and `page`)."""
    try:
        whole = WHOLE_EXPRESSION.match(source)
        if whole:
            _compile_whole(whole.group("body"), names=names)
        else:
            _compile_text(source, names=names)
        _check_filters_and_tests(ENVIRONMENT.parse(source), source)
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.message}", source=source) from exc
    except RecursionError as exc:  # `[[[...3,000 deep...]]]`: Jinja's parser recurses per level
        raise ExpressionError("nested too deeply to read", source=source) from exc


# Filters whose positional argument at this index names a test (or, for map, a filter), as a string.
_NAMED_BY_ARGUMENT = {"select": (0, "test"), "reject": (0, "test"), "selectattr": (1, "test"),
                      "rejectattr": (1, "test"), "map": (0, "filter")}  # fmt: skip


def _check_filters_and_tests(tree: jinja2.nodes.Template, source: str) -> None:
    """Only at save (validation): evaluation keeps Jinja's lookups, so runs recorded before this check
    evaluate as they did."""
    for node in tree.find_all((jinja2.nodes.Filter, jinja2.nodes.Test)):
        kind = "test" if isinstance(node, jinja2.nodes.Test) else "filter"
        _known(kind, node.name, source)
        named = _NAMED_BY_ARGUMENT.get(node.name) if kind == "filter" else None
        argument = node.args[named[0]] if named and len(node.args) > named[0] else None
        if named and isinstance(argument, jinja2.nodes.Const) and isinstance(argument.value, str):
            _known(named[1], argument.value, source)
        if node.name == "render_each" and kind == "filter":
            _check_templates(tree, source)
            template = node.args[0].value  # type: ignore[attr-defined]
            nested = ENVIRONMENT.parse(template)
            _check_filters_and_tests(nested, template)
            _check_names(nested, template)


def _known(kind: str, name: str, source: str) -> None:
    known = ENVIRONMENT.tests if kind == "test" else ENVIRONMENT.filters
    if name in known:
        return
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ExpressionError(f"unknown {kind} {name!r}{hint}", source=source)


def names_used(source: str) -> set[tuple[str, ...]]:
    """The data paths an expression reads, e.g. {("steps", "lookup"), ("trigger",)} (for reference checks)."""
    found: set[tuple[str, ...]] = set()
    whole = WHOLE_EXPRESSION.match(source)  # one that quotes a "}}" (`render_each`) is read whole
    bodies = (
        [whole.group("body")]
        if whole
        else [m.group(1) for m in EXPRESSION.finditer(source, 0, _closed(source))]
    )
    for body in bodies:
        try:
            tree = ENVIRONMENT.parse("{{" + body + "}}")
            nodes = list(tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem, jinja2.nodes.Name)))
        except (jinja2.TemplateSyntaxError, RecursionError):  # compile_expression says why
            continue
        for node in nodes:
            path = _static_path(node)
            if path:
                found.add(path)
        found |= _names_in_templates(tree)
    return found


def _names_in_templates(tree: jinja2.nodes.Template) -> set[tuple[str, ...]]:
    """What `render_each`'s templates read besides the `item` and `index` it binds for them."""
    found: set[tuple[str, ...]] = set()
    for node in tree.find_all(jinja2.nodes.Filter):
        if node.name == "render_each" and node.args and isinstance(node.args[0], jinja2.nodes.Const):
            if isinstance(node.args[0].value, str):
                found |= {p for p in names_used(node.args[0].value) if p[0] not in ("item", "index")}
    return found


def _static_path(node: jinja2.nodes.Node) -> tuple[str, ...] | None:
    parts: list[str] = []
    while True:
        if isinstance(node, jinja2.nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, jinja2.nodes.Getitem) and isinstance(node.arg, jinja2.nodes.Const):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, jinja2.nodes.Name):
            parts.append(node.name)
            return tuple(reversed(parts))[:2]
        else:
            return None


def evaluate(
    source: str, scope: Mapping[str, Any], strict: bool = False, names: tuple[str, ...] = SCOPE_NAMES
) -> Any:
    """Evaluates one string: native value for a whole `{{ }}`, rendered text otherwise, the string itself
    when it holds no expression. `strict`: using a missing path fails naming it instead of giving null.
    `names`: the names it may read (see compile_expression)."""
    if "{{" not in source:
        return source
    try:
        whole = WHOLE_EXPRESSION.match(source)
        with _budgeted(), regex_time(), known_paths(scope, strict):
            if whole:
                value = _compile_whole(whole.group("body"), strict, names)(**scope)
                if isinstance(value, jinja2.Undefined):
                    value._fail_with_undefined_error()
                if _PASS_REFERENCES.get() and REFERENCE.match(whole.group("body")):
                    return _plain(value)
                return _plain(_checked(value, "the result"))
            return str(_checked(_compile_text(source, strict, names).render(**scope), "the rendered text"))
    except ExpressionError:
        raise
    except jinja2.UndefinedError as exc:  # a strict evaluation's message names the missing path
        message = str(exc.message) if strict else f"{type(exc).__name__}: {exc}"
        raise ExpressionError(message, source=source) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.message}", source=source) from exc
    except SecurityError as exc:
        raise ExpressionError(f"not allowed: {exc}", source=source) from exc
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}", source=source) from exc
    except (MemoryError, RecursionError) as exc:
        raise ExpressionError(f"too large to evaluate ({type(exc).__name__})", source=source) from exc
    except jinja2.TemplateError as exc:  # e.g. `select('nosuch')`: a test or filter named only when it runs
        raise ExpressionError(exc.message or type(exc).__name__, source=source) from exc
    except Exception as exc:
        # Whatever else a filter raises on odd data (`[1] | dictsort`: AttributeError) is the expression's
        # error too: it fails the step (onError applies), never the workflow task that evaluates it.
        raise ExpressionError(f"{type(exc).__name__}: {exc}", source=source) from exc


def render_value(
    value: Any,
    scope: Mapping[str, Any],
    where: str = "",
    strict: bool = False,
    strict_keys: frozenset[str] = frozenset(),
) -> Any:
    """Evaluates every expression inside a JSON value (dicts, lists, strings), keeping its shape. Its
    regular expressions share one time budget (a step's fields are evaluated in one workflow task).
    `strict_keys`: the values under these keys (at any depth) are evaluated strictly whatever `strict` is."""
    try:
        with regex_time():
            return _render(value, scope, where, strict, strict_keys)
    except ExpressionError as exc:
        raise exc if exc.where else exc.located(where) from None


def _render(
    value: Any, scope: Mapping[str, Any], where: str, strict: bool, strict_keys: frozenset[str]
) -> Any:
    if isinstance(value, str):
        try:
            return evaluate(value, scope, strict)
        except ExpressionError as exc:
            raise exc.located(where) from None
    if isinstance(value, dict):
        return {
            key: _render(
                item, scope, f"{where}.{key}" if where else key, strict or key in strict_keys, strict_keys
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_render(item, scope, f"{where}[{i}]", strict, strict_keys) for i, item in enumerate(value)]
    return value
