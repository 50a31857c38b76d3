"""Transform: the utilities users reach for daily (dates, text, numbers, JSON, lists), no connection needed.

Dates are parsed by python-dateutil (the many shapes people paste: ISO 8601, RFC 2822, "March 3 2026
5pm") and zones come from the IANA database (zoneinfo). Users' regular expressions run with the `regex`
library and a time limit, so a pathological pattern fails its step instead of stalling the worker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex
from dateutil import parser as dateparser
from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration

transform = Integration(
    id="transform",
    name="Transform",
    description="Format dates, split and search text, format numbers, parse JSON, filter and sort lists",
    icon="/static/icons/transform.svg",
    category="core",
    auth_type=AuthType.NONE,
    is_popular=True,
)
REGEX_SECONDS = 1.0
Calculation = Callable[[Any, ActionContext], Awaitable[Any]]


def calculation(key: str, name: str, description: str) -> Callable[[Calculation], Calculation]:
    """Declares a transform action: a calculation on its input, without side effects (so a step that
    repeats it, a retry or a replay, changes nothing outside)."""
    return transform.action(key, name=name, description=description, side_effects=False)


def invalid(message: str) -> ActionError:
    return ActionError(message, type="InvalidInput", retryable=False)


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from exc


def parse_when(value: str | int | float, timezone: str | None, *, day_first: bool = False) -> datetime:
    """A time from text or a Unix timestamp (seconds, or milliseconds when it is that large)."""
    tz = zone(timezone) or UTC
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = dateparser.parse(value, dayfirst=day_first)
    except (ValueError, OverflowError) as exc:
        raise invalid(f"cannot read {value!r} as a date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


class DateOutput(BaseModel):
    result: str = Field(description="The formatted date")
    iso: str
    timestamp: float = Field(description="Unix time in seconds")


class FormatDateInput(BaseModel):
    date: str | int | float = Field(description="ISO text, any common date text, or a Unix timestamp")
    format: str = Field(default="%Y-%m-%d %H:%M", description="strftime format, e.g. %d/%m/%Y, or 'iso'")
    timezone: str | None = Field(default=None, description="Show it in this zone (IANA name)")
    input_timezone: str | None = Field(
        default=None, alias="inputTimezone", description="Zone of a date without one"
    )
    day_first: bool = Field(default=False, alias="dayFirst", description="Read 03/04 as 3 April")


@calculation("format_date", "Format Date", "Read a date and write it in another format or zone")
async def format_date(data: FormatDateInput, ctx: ActionContext) -> DateOutput:  # noqa: ARG001
    when = parse_when(data.date, data.input_timezone, day_first=data.day_first)
    target = zone(data.timezone)
    if target is not None:
        when = when.astimezone(target)
    result = when.isoformat() if data.format == "iso" else when.strftime(data.format)
    return DateOutput(result=result, iso=when.isoformat(), timestamp=when.timestamp())


class ParseDateInput(BaseModel):
    text: str = Field(description="The date as written, e.g. 25/12/2026 18:30")
    format: str | None = Field(default=None, description="strptime format when guessing is not enough")
    timezone: str | None = Field(default=None, description="Zone of a date written without one (IANA name)")
    day_first: bool = Field(default=False, alias="dayFirst")


@calculation("parse_date", "Parse Date", "Read a date written by people into ISO time")
async def parse_date(data: ParseDateInput, ctx: ActionContext) -> DateOutput:  # noqa: ARG001
    if data.format:
        try:
            when = datetime.strptime(data.text, data.format)
        except ValueError as exc:
            raise invalid(f"{data.text!r} does not match {data.format!r}: {exc}") from exc
        when = when if when.tzinfo else when.replace(tzinfo=zone(data.timezone) or UTC)
    else:
        when = parse_when(data.text, data.timezone, day_first=data.day_first)
    return DateOutput(result=when.isoformat(), iso=when.isoformat(), timestamp=when.timestamp())


class TextInput(BaseModel):
    text: str = Field(max_length=5_000_000)


class SplitInput(TextInput):
    separator: str = Field(default=",", description="Split on this text (\\n for lines)")
    trim: bool = Field(default=True, description="Strip spaces around each part and drop empty ones")


class SplitOutput(BaseModel):
    parts: list[str]
    count: int


@calculation("split_text", "Split Text", "Split text into a list")
async def split_text(data: SplitInput, ctx: ActionContext) -> SplitOutput:  # noqa: ARG001
    if not data.separator:
        raise invalid("separator must not be empty")
    parts = data.text.split(data.separator.replace("\\n", "\n"))
    if data.trim:
        parts = [p.strip() for p in parts if p.strip()]
    return SplitOutput(parts=parts, count=len(parts))


class ReplaceInput(TextInput):
    find: str = Field(min_length=1)
    replace: str = ""
    use_regex: bool = Field(default=False, alias="regex", description="`find` is a regular expression")
    ignore_case: bool = Field(default=False, alias="ignoreCase")


class TextOutput(BaseModel):
    result: str


def compiled(pattern: str, ignore_case: bool) -> Any:
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        raise invalid(f"invalid regular expression {pattern!r}: {exc}") from exc


async def matching(function: Any, *args: Any) -> Any:
    """Runs a `regex` call with the time limit, in a thread: the worker's event loop keeps serving other
    steps while a pattern works, and a runaway pattern fails its step."""
    try:
        return await asyncio.to_thread(function, *args, timeout=REGEX_SECONDS)
    except TimeoutError as exc:
        raise invalid(f"the pattern took over {REGEX_SECONDS:g}s on this text; simplify it") from exc


@calculation("replace_text", "Replace Text", "Replace text or regular-expression matches")
async def replace_text(data: ReplaceInput, ctx: ActionContext) -> TextOutput:  # noqa: ARG001
    pattern = compiled(data.find if data.use_regex else regex.escape(data.find), data.ignore_case)
    try:
        return TextOutput(result=await matching(pattern.sub, data.replace, data.text))
    except regex.error as exc:
        raise invalid(f"invalid replacement {data.replace!r}: {exc}") from exc


class ExtractInput(TextInput):
    pattern: str = Field(min_length=1, description="A regular expression; named groups become fields")
    all: bool = Field(default=False, description="Every match instead of the first")
    ignore_case: bool = Field(default=False, alias="ignoreCase")


class ExtractOutput(BaseModel):
    found: bool
    match: str | None = None
    groups: dict[str, str | None] | list[str | None] = Field(default_factory=list)
    matches: list[str] = Field(default_factory=list)


@calculation("extract_text", "Extract with Regex", "Find a regular expression in text")
async def extract_text(data: ExtractInput, ctx: ActionContext) -> ExtractOutput:  # noqa: ARG001
    pattern = compiled(data.pattern, data.ignore_case)
    if data.all:
        found = [
            m.group(0)
            for m in await matching(lambda text, **limit: list(pattern.finditer(text, **limit)), data.text)
        ]
        return ExtractOutput(found=bool(found), match=found[0] if found else None, matches=found)
    first = await matching(pattern.search, data.text)
    if first is None:
        return ExtractOutput(found=False)
    groups: dict[str, str | None] | list[str | None] = first.groupdict() or list(first.groups())
    return ExtractOutput(found=True, match=first.group(0), groups=groups, matches=[first.group(0)])


class FormatNumberInput(BaseModel):
    number: float | int | str
    decimals: int = Field(default=2, ge=0, le=20)
    thousands_separator: str = Field(default=",", alias="thousandsSeparator", max_length=3)
    decimal_separator: str = Field(default=".", alias="decimalSeparator", max_length=3)
    prefix: str = ""
    suffix: str = ""


@calculation("format_number", "Format Number", "Write a number with separators, decimals, a currency")
async def format_number(data: FormatNumberInput, ctx: ActionContext) -> TextOutput:  # noqa: ARG001
    try:
        number = float(data.number)
    except ValueError as exc:
        raise invalid(f"{data.number!r} is not a number") from exc
    text = f"{abs(number):,.{data.decimals}f}"
    whole, _, fraction = text.partition(".")
    text = whole.replace(",", data.thousands_separator) + (
        data.decimal_separator + fraction if fraction else ""
    )
    return TextOutput(result=("-" if number < 0 else "") + data.prefix + text + data.suffix)


class ParseJsonInput(TextInput):
    pass


class ValueOutput(BaseModel):
    value: Any = None


@calculation("parse_json", "Parse JSON", "Read JSON text into a value")
async def parse_json(data: ParseJsonInput, ctx: ActionContext) -> ValueOutput:  # noqa: ARG001
    try:
        return ValueOutput(value=json.loads(data.text))
    except json.JSONDecodeError as exc:
        raise invalid(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


class StringifyInput(BaseModel):
    value: Any = None
    indent: int | None = Field(default=None, ge=0, le=8)


@calculation("stringify_json", "Stringify JSON", "Write a value as JSON text")
async def stringify_json(data: StringifyInput, ctx: ActionContext) -> TextOutput:  # noqa: ARG001
    return TextOutput(result=json.dumps(data.value, indent=data.indent, ensure_ascii=False, default=str))


class ListInput(BaseModel):
    items: list[Any]
    field: str | None = Field(default=None, description="Compare this field of each item (dots for nesting)")


def field_of(item: Any, path: str | None) -> Any:
    if not path:
        return item
    for part in path.split("."):
        if isinstance(item, dict):
            item = item.get(part)
        elif isinstance(item, list) and part.isdigit() and int(part) < len(item):
            item = item[int(part)]
        else:
            return None
    return item


Operator = Literal[
    "equals", "not_equals", "contains", "not_contains", "greater_than", "less_than", "exists", "not_exists"
]


class FilterInput(ListInput):
    operator: Operator = "equals"
    value: Any = None


class ListOutput(BaseModel):
    items: list[Any]
    count: int


def matches(candidate: Any, operator: str, value: Any) -> bool:
    if operator == "exists":
        return candidate is not None
    if operator == "not_exists":
        return candidate is None
    if operator in {"contains", "not_contains"}:
        inside = isinstance(candidate, str | list | dict) and (
            value in candidate if not isinstance(candidate, str) else str(value) in candidate
        )
        return inside if operator == "contains" else not inside
    if operator in {"greater_than", "less_than"}:
        try:
            return bool(candidate > value if operator == "greater_than" else candidate < value)
        except TypeError:
            return False
    return bool(candidate == value) if operator == "equals" else bool(candidate != value)


@calculation("filter_list", "Filter List", "Keep the items that match a condition")
async def filter_list(data: FilterInput, ctx: ActionContext) -> ListOutput:  # noqa: ARG001
    kept = [item for item in data.items if matches(field_of(item, data.field), data.operator, data.value)]
    return ListOutput(items=kept, count=len(kept))


class SortInput(ListInput):
    descending: bool = False


@calculation("sort_list", "Sort List", "Sort items by value or by a field")
async def sort_list(data: SortInput, ctx: ActionContext) -> ListOutput:  # noqa: ARG001
    def key(item: Any) -> tuple[int, Any]:
        value = field_of(item, data.field)
        # Missing values last; numbers before text, so mixed lists still sort.
        if value is None:
            return (2, "")
        return (0, value) if isinstance(value, int | float) else (1, str(value))

    ordered = sorted(data.items, key=key, reverse=data.descending)
    return ListOutput(items=ordered, count=len(ordered))


@calculation("dedupe_list", "Remove Duplicates", "Keep the first item of each value or field")
async def dedupe_list(data: ListInput, ctx: ActionContext) -> ListOutput:  # noqa: ARG001
    seen: set[str] = set()
    kept = []
    for item in data.items:
        marker = json.dumps(field_of(item, data.field), sort_keys=True, default=str)
        if marker not in seen:
            seen.add(marker)
            kept.append(item)
    return ListOutput(items=kept, count=len(kept))


class ChunkInput(BaseModel):
    items: list[Any]
    size: int = Field(ge=1, le=10_000)


class ChunkOutput(BaseModel):
    chunks: list[list[Any]]
    count: int


@calculation("chunk_list", "Split List into Chunks", "Cut a list into batches of a given size")
async def chunk_list(data: ChunkInput, ctx: ActionContext) -> ChunkOutput:  # noqa: ARG001
    chunks = [data.items[i : i + data.size] for i in range(0, len(data.items), data.size)]
    return ChunkOutput(chunks=chunks, count=len(chunks))
