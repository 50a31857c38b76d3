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
- filters are a fixed, deterministic list (no `random`, no clock: dates come from the data).

A string that is exactly one `{{ ... }}` yields the value's native type; mixed text renders to a string.
Compiled expressions are cached by source, so a definition is compiled once per worker process.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.filters
import jinja2.meta
import jinja2.nodes
import jinja2.sandbox
import jinja2.tests
from jinja2.exceptions import SecurityError

EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<body>(?:(?!\}\}).)*)\}\}\s*$", re.S)
MAX_SEQUENCE = 100_000
# The size budget of every value an expression makes (characters of text plus items of lists and objects,
# nested ones included) and its step budget (operations per evaluation of one field).
MAX_SIZE = 1_000_000
MAX_STEPS = 1_000_000
MAX_EXPONENT = 128
MAX_INTEGER_BITS = 4096
SCOPE_NAMES = ("trigger", "steps", "vars", "item", "index", "execution", "error")


class ExpressionError(Exception):
    """An expression failed to parse or evaluate. `where` names the step and field when known."""

    def __init__(self, message: str, *, source: str = "", where: str = "") -> None:
        self.message = message
        self.source = source
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{message}" + (f" in {source!r}" if source else ""))

    def located(self, where: str) -> ExpressionError:
        return ExpressionError(self.message, source=self.source, where=where)


class _DataOnlyUndefined(jinja2.ChainableUndefined):
    """Missing data is `null` (like n8n): `trigger.body.missing.deeper` is undefined, not an error."""


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _isoformat(value: Any) -> str:
    return _to_datetime(value).isoformat().replace("+00:00", "Z")


def _add_seconds(value: Any, seconds: float) -> str:
    return _isoformat(_to_datetime(value) + timedelta(seconds=float(seconds)))


def _bounded_indent_width(indent: Any) -> int | None:
    if indent is None:
        return None
    if not isinstance(indent, int) or not 0 <= indent <= 16:
        raise SecurityError("tojson's indent must be a whole number from 0 to 16")
    return indent


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(_plain(value), indent=indent, ensure_ascii=False, default=str)


class _Budget:
    """What one evaluation may still spend."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = MAX_STEPS

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise SecurityError(f"the expression takes more than {MAX_STEPS:,} steps")


_BUDGET: ContextVar[_Budget | None] = ContextVar("baton_expression_budget", default=None)


@contextmanager
def _budgeted() -> Iterator[None]:
    if _BUDGET.get() is not None:  # nested (a filter evaluating data): one budget for the whole field
        yield
        return
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _spend(steps: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(steps)


def size_of(value: Any, limit: int = MAX_SIZE) -> int:
    """Characters plus items of a value, nested ones included; stops counting past `limit`."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 1 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 1 + len(item)
            stack.extend(item)
        else:
            total += 1
    return total


def _fits(size: int, what: str) -> None:
    if size > MAX_SIZE:
        raise SecurityError(f"{what} would be larger than the size budget of {MAX_SIZE:,} characters/items")


def _checked(value: Any, what: str) -> Any:
    if isinstance(value, str | bytes | list | tuple | Mapping):
        _fits(size_of(value), what)
    return value


_PRINTF_WIDTH = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(fmt: Any, args: Any) -> None:
    """`'%0999999999d' % 1` allocates a gigabyte: every width and precision must fit the budget."""
    if not isinstance(fmt, str):
        return
    if "*" in fmt:
        raise SecurityError("`*` widths are not allowed in format strings")
    widths = [int(n) for m in _PRINTF_WIDTH.finditer(fmt) for n in m.groups() if n and n.isdigit()]
    _fits(len(fmt) + sum(widths) + size_of(args), "the formatted text")


def _bounded_center(value: Any, width: int = 80) -> str:
    _fits(int(width), f"center({width})")
    return str(value).center(int(width))


def _bounded_indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    text = str(value)
    pad = len(width) if isinstance(width, str) else int(width)
    _fits(len(text) + pad * (text.count("\n") + 1), f"indent({width!r})")
    return jinja2.filters.do_indent(text, width, first, blank)


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_printf(value, (args, kwargs))
    return jinja2.filters.do_format(value, *args, **kwargs)


def _bounded_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    hits = (len(text) + 1) if old == "" else text.count(old)
    if count is not None:
        hits = min(hits, max(0, int(count)))
    _fits(len(text) + hits * max(0, len(new) - len(old)), "replace()")
    return jinja2.filters.do_replace(eval_ctx, text, old, new, count)


_bounded_replace = jinja2.pass_eval_context(_bounded_replace)


def _bounded_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _spend(len(items))
    _fits(sum(size_of(i) for i in items) + len(str(d)) * len(items), "join()")
    return str(jinja2.filters.do_join(eval_ctx, items, d, attribute))


_bounded_join = jinja2.pass_eval_context(_bounded_join)


def _budgeted_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that spends the budget (one step, plus one per item of its data) and whose result must fit."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        data = next(
            (
                a
                for a in args
                if not isinstance(a, jinja2.runtime.Context | jinja2.nodes.EvalContext | jinja2.Environment)
            ),
            None,
        )
        _spend(1 + (len(data) if isinstance(data, str | list | tuple | Mapping) else 0))
        result = function(*args, **kwargs)
        if not isinstance(result, str | bytes | list | tuple | Mapping) and hasattr(result, "__iter__"):
            result = list(result)  # map/select/reject hand back generators: walk them here, counted
            _spend(len(result))
        return _checked(result, f"the result of |{name}")

    return run


FILTERS: dict[str, Callable[..., Any]] = {
    name: jinja2.filters.FILTERS[name]
    for name in (
        "abs", "capitalize", "default", "d", "first", "float", "int", "join", "last", "length", "count",
        "list", "lower", "upper", "max", "min", "replace", "reverse", "round", "sort", "string", "sum",
        "title", "trim", "truncate", "unique", "map", "select", "reject", "selectattr", "rejectattr",
        "batch", "slice", "dictsort", "items", "attr", "wordcount", "center", "indent", "format",
    )
}  # fmt: skip
FILTERS.update(
    {
        "fromjson": json.loads,
        "keys": lambda value: list(value.keys()) if isinstance(value, Mapping) else [],
        "values": lambda value: list(value.values()) if isinstance(value, Mapping) else [],
        "to_datetime": _isoformat,
        "date_format": lambda value, fmt="%Y-%m-%d": _to_datetime(value).strftime(fmt),
        "add_seconds": _add_seconds,
        "add_days": lambda value, days: _add_seconds(value, float(days) * 86400),
        "timestamp": lambda value: _to_datetime(value).timestamp(),
        "bool": lambda value: (
            value if isinstance(value, bool) else str(value).lower() in {"true", "1", "yes"}
        ),
        "center": _bounded_center,
        "indent": _bounded_indent,
        "format": _bounded_format,
        "replace": _bounded_replace,
        "join": _bounded_join,
        "tojson": lambda value, indent=None: _tojson(value, _bounded_indent_width(indent)),
    }
)
FILTERS = {name: _budgeted_filter(name, function) for name, function in FILTERS.items()}
TESTS = {
    name: jinja2.tests.TESTS[name]
    for name in (
        "defined", "undefined", "none", "number", "string", "mapping", "sequence", "boolean", "integer",
        "float", "true", "false", "even", "odd", "divisibleby", "in", "eq", "ne", "lt", "le", "gt", "ge",
        "equalto", "lower", "upper",
    )
}  # fmt: skip


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


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


def _environment() -> DataOnlyEnvironment:
    env = DataOnlyEnvironment(
        undefined=_DataOnlyUndefined,
        autoescape=False,
        # Statements and comments are not part of the language: make their delimiters unmatchable.
        block_start_string="\x00{%",
        block_end_string="%}\x00",
        comment_start_string="\x00{#",
        comment_end_string="#}\x00",
        keep_trailing_newline=True,
    )
    env.globals.clear()
    env.filters = dict(FILTERS)
    env.tests = dict(TESTS)
    return env


ENVIRONMENT = _environment()


def has_expression(value: str) -> bool:
    return "{{" in value and EXPRESSION.search(value) is not None


def _check_names(tree: jinja2.nodes.Template, source: str) -> None:
    unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - set(SCOPE_NAMES))
    if unknown:
        raise ExpressionError(
            f"unknown name {unknown[0]!r}; expressions can read {', '.join(SCOPE_NAMES)}", source=source
        )


@lru_cache(maxsize=4096)
def _compile_whole(body: str) -> Any:
    _check_names(ENVIRONMENT.parse("{{" + body + "}}"), "{{" + body + "}}")
    return ENVIRONMENT.compile_expression(body, undefined_to_none=True)


@lru_cache(maxsize=4096)
def _compile_text(source: str) -> jinja2.Template:
    _check_names(ENVIRONMENT.parse(source), source)
    return ENVIRONMENT.from_string(source)


def compile_expression(source: str) -> None:
    """Parses `source` (raises ExpressionError); the compiled form is cached for evaluation."""
    try:
        whole = WHOLE_EXPRESSION.match(source)
        if whole:
            _compile_whole(whole.group("body"))
        else:
            _compile_text(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.message}", source=source) from exc


def names_used(source: str) -> set[tuple[str, ...]]:
    """The data paths an expression reads, e.g. {("steps", "lookup"), ("trigger",)} (for reference checks)."""
    found: set[tuple[str, ...]] = set()
    for match in EXPRESSION.finditer(source):
        try:
            tree = ENVIRONMENT.parse("{{" + match.group(1) + "}}")
        except jinja2.TemplateSyntaxError:
            continue
        for node in tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem, jinja2.nodes.Name)):
            path = _static_path(node)
            if path:
                found.add(path)
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


def evaluate(source: str, scope: Mapping[str, Any]) -> Any:
    """Evaluates one string: native value for a whole `{{ }}`, rendered text otherwise, the string itself
    when it holds no expression."""
    if "{{" not in source:
        return source
    try:
        whole = WHOLE_EXPRESSION.match(source)
        with _budgeted():
            if whole:
                return _plain(_checked(_compile_whole(whole.group("body"))(**scope), "the result"))
            return str(_checked(_compile_text(source).render(**scope), "the rendered text"))
    except ExpressionError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.message}", source=source) from exc
    except SecurityError as exc:
        raise ExpressionError(f"not allowed: {exc}", source=source) from exc
    except (jinja2.UndefinedError, TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}", source=source) from exc
    except (MemoryError, RecursionError) as exc:
        raise ExpressionError(f"too large to evaluate ({type(exc).__name__})", source=source) from exc


def render_value(value: Any, scope: Mapping[str, Any], where: str = "") -> Any:
    """Evaluates every expression inside a JSON value (dicts, lists, strings), keeping its shape."""
    try:
        return _render(value, scope, where)
    except ExpressionError as exc:
        raise exc if exc.where else exc.located(where) from None


def _render(value: Any, scope: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        try:
            return evaluate(value, scope)
        except ExpressionError as exc:
            raise exc.located(where) from None
    if isinstance(value, dict):
        return {key: _render(item, scope, f"{where}.{key}" if where else key) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def _plain(value: Any) -> Any:
    """Jinja values back to JSON-able data (Undefined -> None, tuples -> lists, NaN refused)."""
    if isinstance(value, jinja2.Undefined):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"the result {value} is not a JSON number")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return _isoformat(value)
    if hasattr(value, "__iter__"):  # generators from map/select filters
        return [_plain(v) for v in value]
    return str(value)
