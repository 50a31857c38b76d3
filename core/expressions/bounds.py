"""The bounds of an evaluation: the size limits, the step budget, and the filters and tests checked
before they run (see the package's docstring)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import jinja2.filters
import jinja2.meta
import jinja2.nodes
import jinja2.sandbox
import jinja2.tests
from jinja2.exceptions import SecurityError

MAX_SEQUENCE = 100_000
# The size budget of every value an expression makes (characters of text plus items of lists and objects,
# nested ones included) and its step budget (operations per evaluation of one field).
MAX_SIZE = 1_000_000
MAX_STEPS = 1_000_000
MAX_EXPONENT = 128
MAX_INTEGER_BITS = 4096
# `event`: the event a `wait` step's `match` reads (worker.steps.events)
SCOPE_NAMES = ("trigger", "steps", "vars", "item", "index", "execution", "error", "event")
# Filters that read a value without walking it: one step each under passing_references (a run that hands
# on large values reads their length, first or last item without spending the budget on their size).
CONSTANT_TIME_FILTERS = frozenset({"length", "count", "first", "last", "default", "d"})
_PASS_REFERENCES: ContextVar[bool] = ContextVar("pass_references", default=False)


@contextmanager
def passing_references(passing: bool = True) -> Iterator[None]:
    """Within it (when `passing`: a run that carries a value limit, RunInput.value_limit), a whole
    expression that only names a value of the run's data yields it whatever its size (REFERENCE in
    core.expressions) and CONSTANT_TIME_FILTERS cost one step."""
    token = _PASS_REFERENCES.set(passing)
    try:
        yield
    finally:
        _PASS_REFERENCES.reset(token)


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


def _bounded_range(start: Any, stop: Any = None, step: Any = 1) -> list[int]:
    """`{{ 3 | range }}` is [0, 1, 2]; `{{ 2 | range(5) }}` is [2, 3, 4] (page numbers for a loop)."""
    first, last = (0, int(start)) if stop is None else (int(start), int(stop))
    numbers = range(first, last, int(step))
    if len(numbers) > MAX_SEQUENCE:
        raise SecurityError(f"range() would give {len(numbers):,} numbers; the limit is {MAX_SEQUENCE:,}")
    _spend(len(numbers))
    return list(numbers)


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
        reads = name in CONSTANT_TIME_FILTERS and _PASS_REFERENCES.get()  # makes nothing new
        _spend(1 + (len(data) if isinstance(data, str | list | tuple | Mapping) and not reads else 0))
        result = function(*args, **kwargs)
        if reads:
            return result
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
        "range": _bounded_range,
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
        # the operator spellings Jinja's documentation uses with select/selectattr (`selectattr('n', '>', 1)`)
        "==", "!=", ">", ">=", "<", "<=", "greaterthan", "lessthan",
    )
}  # fmt: skip


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


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
