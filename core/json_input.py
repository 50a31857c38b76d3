"""JSON from outside (API bodies, webhook calls) as Baton can keep it, or a 4xx naming where it is not.

Python's `json` module accepts more than JSON and more than PostgreSQL stores: `NaN`, `Infinity` and numbers
too large for a float (`1e999999` becomes infinity), lone UTF-16 surrogates (`"\\ud800"`: not Unicode, and
refused by PostgreSQL and UTF-8 alike), NUL characters (refused by PostgreSQL text and JSONB), and nesting
deep enough to overflow the stack of the code that walks the value later. `loads` refuses each, with the
JSON path of the first offending value, so a bad body answers 400/422 instead of a 500 later on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from core.errors import BatonError

# Deeper than any workflow definition or service payload we have seen (a definition nests about three
# levels per nested step), far from what overflows the stack of the code that walks values later.
MAX_DEPTH = 128
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(BatonError, kind="invalid_json"):
    """A body that is not JSON, or JSON nested or sized past what Baton takes."""


class NulCharacter(BatonError, status=422, kind="validation_error"):
    """A NUL character in text: PostgreSQL cannot store it."""


def loads(raw: bytes | str, where: str = "body") -> Any:
    """Parses `raw` strictly; InvalidJson (400) or NulCharacter (422) with the JSON path otherwise."""
    try:
        value = json.loads(raw)  # NaN, Infinity and 1e999999 come out as floats that `check` refuses
    except RecursionError:
        raise InvalidJson(f"{where}: JSON nested deeper than {MAX_DEPTH} levels", path=where) from None
    except ValueError as exc:  # JSONDecodeError, and bytes that are not UTF-8
        raise InvalidJson(f"{where} is not valid JSON: {exc}", path=where) from None
    check(value, where)
    return value


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "nul"
    if not text.isascii() and _SURROGATE.search(text):
        return "surrogate"
    return None


def check(value: Any, where: str = "body") -> None:
    """Walks `value` without recursion; raises on the first string or key PostgreSQL cannot keep, the
    first non-finite number or nesting deeper than MAX_DEPTH."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _refuse_text(item, path, where)
        elif isinstance(item, float):
            if not math.isfinite(item):
                literal = "NaN" if math.isnan(item) else "Infinity (or a number too large for a float)"
                raise InvalidJson(
                    f"{path or where}: {literal} is not a JSON number: send null, a number or a string",
                    path=path or where,
                )
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise InvalidJson(
                    f"{path or where}: JSON nested deeper than {MAX_DEPTH} levels", path=path or where
                )
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    child_path = f"{path}.{key}" if path else str(key)
                    _refuse_text(str(key), child_path, where)
                    children.append((child, child_path, depth + 1))
            else:
                children = [(child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item)]
            stack.extend(reversed(children))  # popped in document order: the first problem is named


def _refuse_text(text: str, path: str, where: str) -> None:
    problem = _text_problem(text)
    if problem is None:
        return
    at = _SURROGATE.sub("\ufffd", path or where)  # the answer itself must be valid UTF-8
    if problem == "nul":
        raise NulCharacter(f"{at}: text may not contain NUL (\\u0000) characters", path=at)
    raise InvalidJson(
        f"{at}: text holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode: send the "
        "character it was part of, or escape both halves of the pair",
        path=at,
    )
