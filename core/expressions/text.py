"""Text filters and tests people reach for: split, startswith/endswith/contains, regular expressions with a
time limit, and `render_each`, a template rendered once per item of a list.

Jinja's `.startswith()`-style method calls are refused by the sandbox (only filters and tests run code), so
these are filters (`name | split(' ')`) and tests (`select('startswith', 'inv-')`). Every output is checked
against the size budget before it is built, and every item walked is counted in the step budget.

Regular expressions run with the `regex` library's timeout, like the transform actions'. The time is a
budget shared by every pattern of one rendered value (a step's fields), kept well under Temporal's two
second deadlock detection: a runaway pattern fails the step, not the workflow task. A pattern also has a
length limit. Time is the one bound here that is not deterministic, so it is generous: a pattern near it on
one machine could pass or fail on another; well-behaved patterns take microseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import jinja2
import regex
from jinja2.exceptions import SecurityError

from core.expressions.bounds import _fits, _spend
from core.expressions.encoding import _kind, _text
from core.expressions.strict import fail_if_strict, name_root

REGEX_SECONDS = 0.25
MAX_PATTERN = 1_000


class _Clock:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = REGEX_SECONDS


_CLOCK: ContextVar[_Clock | None] = ContextVar("baton_expression_regex_clock", default=None)


@contextmanager
def regex_time() -> Iterator[None]:
    """One regular-expression time budget for everything evaluated inside (nested: the outer one's)."""
    if _CLOCK.get() is not None:
        yield
        return
    token = _CLOCK.set(_Clock())
    try:
        yield
    finally:
        _CLOCK.reset(token)


@lru_cache(maxsize=512)
def _compiled(pattern: str, flags: int) -> Any:
    return regex.compile(pattern, flags)


def _pattern(pattern: Any, filter_name: str, ignorecase: bool, multiline: bool) -> Any:
    source = _text(pattern, filter_name, "the pattern")
    if len(source) > MAX_PATTERN:
        raise SecurityError(f"{filter_name}: the pattern is longer than {MAX_PATTERN:,} characters")
    flags = (regex.IGNORECASE if ignorecase else 0) | (regex.MULTILINE if multiline else 0)
    try:
        return _compiled(source, flags)
    except regex.error as exc:
        raise ValueError(f"{filter_name}: invalid regular expression {source!r}: {exc}") from None


def _timed(filter_name: str, function: Callable[..., Any], *args: Any) -> Any:
    clock = _CLOCK.get() or _Clock()
    if clock.left <= 0:
        raise SecurityError(
            f"{filter_name}: the regular expressions of this value took over {REGEX_SECONDS:g}s"
        )
    started = time.monotonic()
    try:
        return function(*args, timeout=clock.left)
    except TimeoutError:
        raise SecurityError(
            f"{filter_name}: the pattern took over {REGEX_SECONDS:g}s on this text; simplify it"
        ) from None
    finally:
        clock.left -= time.monotonic() - started


def regex_match(value: Any, pattern: Any, ignorecase: bool = False, multiline: bool = False) -> bool:
    """True when the whole text matches (`'12345' | regex_match('\\d{5}')`); `regex_search` finds a part."""
    text = _text(value, "regex_match")
    compiled = _pattern(pattern, "regex_match", ignorecase, multiline)
    return _timed("regex_match", compiled.fullmatch, text) is not None


def regex_search(
    value: Any, pattern: Any, group: int | str = 0, ignorecase: bool = False, multiline: bool = False
) -> str | None:
    """The first match's text (or its `group`, by number or name), null when nothing matches."""
    text = _text(value, "regex_search")
    found = _timed("regex_search", _pattern(pattern, "regex_search", ignorecase, multiline).search, text)
    if found is None:
        return None
    try:
        return found.group(group)  # type: ignore[no-any-return]
    except IndexError:
        raise ValueError(f"regex_search: the pattern has no group {group!r}") from None


def regex_findall(value: Any, pattern: Any, ignorecase: bool = False, multiline: bool = False) -> list[Any]:
    """Every match: its text, or the group's with one group, or a list of the groups with several."""
    text = _text(value, "regex_findall")
    found = _timed("regex_findall", _pattern(pattern, "regex_findall", ignorecase, multiline).findall, text)
    _spend(len(found))
    return [list(item) if isinstance(item, tuple) else item for item in found]


def regex_replace(
    value: Any, pattern: Any, replacement: Any = "", count: int = 0, ignorecase: bool = False,
    multiline: bool = False,
) -> str:  # fmt: skip
    """Every match (or the first `count`) replaced; `\\1` or `\\g<name>` in the replacement bring a group."""
    text = _text(value, "regex_replace")
    template = _text(replacement, "regex_replace", "the replacement")
    _spend(len(template))  # the piped text is counted by the filter's wrapper (bounds._budgeted_filter)
    compiled = _pattern(pattern, "regex_replace", ignorecase, multiline)
    references = template.count("\\")  # each could bring back the whole match: counted before expanding
    grown = [len(text)]

    def expand(match: Any) -> str:
        _spend()
        matched = match.end() - match.start()
        grown[0] += len(template) + references * matched - matched
        _fits(grown[0], "the result of |regex_replace")
        return match.expand(template)  # type: ignore[no-any-return]

    try:
        return _timed("regex_replace", compiled.sub, expand, text, max(0, int(count)))  # type: ignore[no-any-return]
    except regex.error as exc:
        raise ValueError(f"regex_replace: invalid replacement {template!r}: {exc}") from None


def split(value: Any, separator: Any = None, maxsplit: int = -1) -> list[str]:
    """`'Ada Lovelace' | split` is ['Ada', 'Lovelace'] (any run of spaces); `split(',')` keeps empty parts."""
    text = _text(value, "split")
    if separator is not None:
        separator = _text(separator, "split", "the separator")
        if separator == "":
            raise ValueError("split: the separator is empty; use `| list` for the characters")
        parts = text.count(separator) + 1
    else:
        parts = len(text) // 2 + 1
    if maxsplit is not None and int(maxsplit) >= 0:
        parts = min(parts, int(maxsplit) + 1)
    _fits(len(text) + parts + 1, "the result of |split")
    return text.split(separator, int(maxsplit))


def _affixes(affix: Any, filter_name: str) -> str | tuple[str, ...]:
    if isinstance(affix, list | tuple):
        return tuple(_text(a, filter_name, "each choice") for a in affix)
    return _text(affix, filter_name, "the text to look for")


def startswith(value: Any, prefix: Any) -> bool:
    """`'inv-42' | startswith('inv-')`; a list of prefixes is true when one of them is."""
    return _text(value, "startswith").startswith(_affixes(prefix, "startswith"))


def endswith(value: Any, suffix: Any) -> bool:
    return _text(value, "endswith").endswith(_affixes(suffix, "endswith"))


def contains(value: Any, needle: Any) -> bool:
    """Text holds the text, a list holds the item, an object has the key (`needle in value`, as a filter)."""
    if isinstance(value, str):
        return _text(needle, "contains", "the text to look for") in value
    if isinstance(value, list | tuple | Mapping):
        try:
            return needle in value
        except TypeError:  # an unhashable needle is no key of any object
            return False
    if value is None or isinstance(value, jinja2.Undefined):
        fail_if_strict(value)
        raise ValueError("contains: its input is missing (null)")
    raise TypeError(f"contains: its input must be text, a list or an object, not {_kind(value)}")


@lru_cache(maxsize=512)
def _template(environment: jinja2.Environment, source: str) -> jinja2.Template:
    return environment.from_string(source)


@jinja2.pass_context
def render_each(context: Any, value: Any, template: Any, separator: Any = None) -> str | list[str]:
    """The template rendered once per item, with `item` and `index` (from 0) and the run's data: a list of
    texts, or one text joined by `separator`. An object's entries are items `{key, value}`."""
    source = _text(template, "render_each", "the template")
    if isinstance(value, Mapping):
        items: list[Any] = [{"key": key, "value": item} for key, item in value.items()]
    elif isinstance(value, list | tuple):
        items = list(value)
    elif value is None or isinstance(value, jinja2.Undefined):
        fail_if_strict(value)
        raise ValueError("render_each: its input is missing (null)")
    else:
        raise TypeError(f"render_each: its input must be a list or an object, not {_kind(value)}")
    joiner = None if separator is None else _text(separator, "render_each", "the separator")
    compiled = _template(context.environment, source)
    scope = dict(context.get_all())
    rendered: list[str] = []
    total = 0
    for index, item in enumerate(items):
        _spend()
        name_root(item, "item")
        text = compiled.render({**scope, "item": item, "index": index})  # a loop's item is shadowed
        total += len(text) + 1 + (len(joiner) if joiner else 0)
        _fits(total, "the result of |render_each")
        rendered.append(text)
    return rendered if joiner is None else joiner.join(rendered)


TEXT_FILTERS: dict[str, Callable[..., Any]] = {
    "split": split,
    "startswith": startswith,
    "endswith": endswith,
    "contains": contains,
    "regex_match": regex_match,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "regex_replace": regex_replace,
    "render_each": render_each,
}


def _lenient(test: Callable[..., bool]) -> Callable[..., bool]:
    """As a test a missing value is simply no match: `select('startswith', 'a')` skips a null name (the
    filter form fails on it, saying so, since its result would be used)."""

    def run(value: Any, *args: Any, **kwargs: Any) -> bool:
        fail_if_strict(value)  # a strict evaluation names the missing path instead
        if value is None or isinstance(value, jinja2.Undefined):
            return False
        return test(value, *args, **kwargs)

    return run


def _searches(value: Any, pattern: Any, ignorecase: bool = False, multiline: bool = False) -> bool:
    return regex_search(value, pattern, 0, ignorecase, multiline) is not None


# As tests they read in conditions and pick items: `trigger.ref is startswith('inv-')`,
# `names | select('regex_match', '[A-Z].*')`.
TEXT_TESTS: dict[str, Callable[..., bool]] = {
    name: _lenient(test)
    for name, test in (("startswith", startswith), ("endswith", endswith), ("contains", contains),
                       ("regex_match", regex_match), ("regex_search", _searches))
}  # fmt: skip
