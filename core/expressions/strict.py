"""Strict evaluation: a missing path fails when it is used, with its name (`trigger.nope is undefined`)
instead of quietly giving null (a typo in a path, a lookup that found nothing building `.../contacts//edit`).

Paths are named without wrapping the data: while a strict evaluation runs, each container read through
`.`/`[]` is remembered by identity with the path it was read at (the scope's names are the roots), so a
missing key is named from where its container came. A container reached another way (a filter's result)
has no name: its missing key is named alone. Only strict evaluations pay for this.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import jinja2

_PATHS: ContextVar[dict[int, str] | None] = ContextVar("baton_expression_paths", default=None)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StrictUndefined(jinja2.StrictUndefined):
    """Fails when printed, compared, iterated or tested for truth; `| default(x)` and `is defined` still
    see it as missing, so a path that may be absent says so in the expression."""

    __slots__ = ()


def fail_if_strict(value: Any) -> None:
    """A filter given a strict evaluation's missing path fails naming the path, not "missing (null)"."""
    if isinstance(value, StrictUndefined):
        value._fail_with_undefined_error()


@contextmanager
def known_paths(scope: Mapping[str, Any], strict: bool) -> Iterator[None]:
    """Remembers the scope's names as the roots of the paths a strict evaluation reads (nested: kept)."""
    if not strict or _PATHS.get() is not None:
        yield
        return
    token = _PATHS.set({id(value): name for name, value in scope.items() if _container(value)})
    try:
        yield
    finally:
        _PATHS.reset(token)


def name_root(value: Any, name: str) -> None:
    """A name bound inside the evaluation (`render_each`'s `item`) is a root too."""
    paths = _PATHS.get()
    if paths is not None and _container(value):
        paths[id(value)] = name


def tracked_paths(container: Any, key: Any, found: Any) -> None:
    paths = _PATHS.get()
    if paths is None or not _container(found):
        return
    base = paths.get(id(container))
    if base is not None:
        paths.setdefault(id(found), _joined(base, key))


def missing(container: Any, key: Any) -> str:
    """The sentence a strict undefined fails with."""
    paths = _PATHS.get() or {}
    base = paths.get(id(container))
    if base is None:
        return f"{_joined('', key).lstrip('.')} is undefined"
    return f"{_joined(base, key)} is undefined"


def _joined(base: str, key: Any) -> str:
    if isinstance(key, str) and _NAME.match(key):
        return f"{base}.{key}"
    return f"{base}[{key!r}]"


def _container(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and not isinstance(value, jinja2.Undefined)


# The fields whose expressions are strict even in a workflow that is not: a missing path in a URL builds
# `.../contacts//edit` and calls the wrong endpoint, never what anyone meant.
STRICT_KEYS = frozenset({"url"})


def asks_strict(value: Any, strict_keys: frozenset[str] = STRICT_KEYS) -> bool:
    """Whether rendering `value` with `strict_keys` would evaluate an expression strictly (one under such a
    key): the worker asks before taking the strict path, so other steps' histories don't change."""
    if isinstance(value, dict):
        return any(
            (key in strict_keys and _holds_expression(item)) or asks_strict(item, strict_keys)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(asks_strict(item, strict_keys) for item in value)
    return False


def _holds_expression(value: Any) -> bool:
    """Whether a value has a `{{ }}` anywhere (a cheap, deterministic test: a stray `{{` only makes the
    worker ask its patch, which is harmless)."""
    if isinstance(value, str):
        return "{{" in value and "}}" in value
    if isinstance(value, dict):
        return any(_holds_expression(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_expression(item) for item in value)
    return False
