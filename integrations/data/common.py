"""What the data actions share: the integration, where their input comes from (text, base64 or a file of
the run), what they make (text, base64 or a new file), and their bounds.

Bounds (settings): DATA_MAX_BYTES for what one action reads or makes, decompressed bytes included (a zip or
gzip bomb stops there, whatever its headers claim); DATA_MAX_ROWS for the rows, items or matches one
answers; DATA_MAX_SECONDS for the computing, which runs in a thread that checks its deadline as it goes,
so a step past it fails saying so instead of holding its worker. Each error names the limit's setting.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar, cast, get_type_hints

from pydantic import BaseModel, ConfigDict, Field

from core.files import FileRef
from core.models import AuthType
from core.settings import Settings
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration

data = Integration(
    id="data",
    name="Data Formats",
    description="Read and write CSV and XLSX, extract a PDF's text, parse XML and HTML safely, gzip and zip",
    icon="/static/icons/data.svg",
    category="core",
    auth_type=AuthType.NONE,
    example="""Input comes as `content` (text), `contentBase64` or `file` (a file of the run: an item of
`trigger.files`, a download's `file`); what an action makes comes back as `content`, `contentBase64` or a
new `file`, as its `output` field asks. XML is parsed with entity declarations and external references
refused (no billion laughs, no XXE); HTML never loads anything. Bounded by DATA_MAX_BYTES (what one action
reads or makes, decompressed included), DATA_MAX_ROWS and DATA_MAX_SECONDS.

```json
{"id": "report", "type": "action", "action": "data.csv_read",
 "input": {"file": "{{ trigger.files[0] }}", "types": "auto"}}
```
```json
{"id": "sheet", "type": "action", "action": "data.xlsx_write",
 "input": {"rows": "{{ steps.report.output.rows }}", "sheet": "Orders", "fileName": "orders.xlsx"}}
```
""",
)

T = TypeVar("T")
Action = TypeVar("Action", bound=Callable[..., Awaitable[BaseModel]])
Output = Literal["text", "base64", "file"]


def data_action(key: str, name: str, description: str) -> Callable[[Action], Action]:
    """Declares a data action: it only reads (a retry runs it again) and runs on the `cpu` profile, so parsing
    and conversion never hold the slots of the short steps."""
    declare = data.action(key, name=name, description=description, side_effects=False, profile="cpu")
    return cast(Callable[[Action], Action], declare)


def parser_action(
    key: str,
    name: str,
    description: str,
    what: str,
    work: Callable[[Any, bytes, Limits, Deadline], BaseModel],
) -> Callable[..., Awaitable[BaseModel]]:
    """Declares a data action that reads its source and computes `work(input, raw, limits, deadline)` in a
    thread (see `computed_from`); its input and output models are `work`'s first parameter and return."""
    hints = get_type_hints(work)

    async def run(data_in: Any, ctx: ActionContext) -> BaseModel:
        return await computed_from(data_in, ctx, what, partial(work, data_in))

    first = next(iter(inspect.signature(work).parameters))
    run.__annotations__ = {"data_in": hints[first], "ctx": ActionContext, "return": hints["return"]}
    run.__name__ = run.__qualname__ = key
    return data_action(key, name, description)(run)


class Source(BaseModel):
    """Where the data comes from: exactly one of the three."""

    model_config = ConfigDict(populate_by_name=True)

    content: str | None = Field(default=None, description="The data as text")
    content_base64: str | None = Field(default=None, alias="contentBase64", description="The data as base64")
    file: FileRef | None = Field(default=None, description="A file of the run (a FileRef)")


class TextSource(Source):
    encoding: str = Field(default="utf-8", description="The text's encoding")


class MakesBinary(BaseModel):
    output: Literal["base64", "file"] = Field(default="file", description="base64, or file (a new file)")


async def read_text(source: TextSource, ctx: ActionContext, what: str) -> str:
    return as_text(await read_source(source, ctx), source.encoding, what)


class Made(BaseModel):
    """What an action made, as its `output` asked (the other two absent)."""

    content: str | None = Field(default=None, exclude_if=lambda v: v is None, description="output text")
    content_base64: str | None = Field(
        default=None, alias="contentBase64", exclude_if=lambda v: v is None, description="output base64"
    )
    file: FileRef | None = Field(default=None, exclude_if=lambda v: v is None, description="output file")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    seconds: float

    @classmethod
    def of(cls, ctx: ActionContext) -> Limits:
        settings = ctx.settings
        if settings is None:  # the defaults
            fields = Settings.model_fields
            return cls(*(fields[f"data_max_{name}"].default for name in ("bytes", "rows", "seconds")))
        return cls(settings.data_max_bytes, settings.data_max_rows, settings.data_max_seconds)

    def too_large(self, what: str) -> ActionError:
        return ActionError(
            f"{what} is larger than {self.max_bytes:,} bytes, this installation's limit (DATA_MAX_BYTES)",
            type="TooLarge",
            retryable=False,
        )

    def too_many(self, what: str) -> ActionError:
        return ActionError(
            f"more than {self.max_rows:,} {what}, this installation's limit (DATA_MAX_ROWS)",
            type="TooLarge",
            retryable=False,
        )


class Deadline:
    """Checked by the computing thread as it goes: past it, the work stops (the step has failed already)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise TimeoutError


def invalid(message: str) -> ActionError:
    return ActionError(message, type="InvalidInput", retryable=False)


async def computed(ctx: ActionContext, what: str, work: Callable[[Deadline], T]) -> T:
    """Runs `work` in a thread within DATA_MAX_SECONDS."""
    limits = Limits.of(ctx)
    deadline = Deadline(limits.seconds)
    try:
        return await asyncio.wait_for(asyncio.to_thread(work, deadline), limits.seconds + 1)
    except TimeoutError:
        raise ActionError(
            f"{what} took longer than {limits.seconds:g} s, this installation's limit (DATA_MAX_SECONDS)",
            type="Timeout",
            retryable=False,
        ) from None


async def computed_from(
    source: Source, ctx: ActionContext, what: str, work: Callable[[bytes, Limits, Deadline], T]
) -> T:
    """Reads the source, then runs `work(raw, limits, deadline)` in a thread within DATA_MAX_SECONDS."""
    raw = await read_source(source, ctx)
    limits = Limits.of(ctx)
    return await computed(ctx, what, lambda deadline: work(raw, limits, deadline))


async def read_source(source: Source, ctx: ActionContext, path: str = "") -> bytes:
    """The bytes of `content`, `contentBase64` or `file` (exactly one), within DATA_MAX_BYTES."""
    limits = Limits.of(ctx)
    given = [name for name in ("content", "content_base64", "file") if getattr(source, name) is not None]
    where = f"{path}." if path else ""
    if len(given) != 1:
        raise invalid(f"give exactly one of {where}content, {where}contentBase64 and {where}file")
    if source.content is not None:
        raw = source.content.encode()
    elif source.content_base64 is not None:
        try:
            raw = base64.b64decode(source.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid(f"{where}contentBase64 is not base64 ({exc})") from exc
    else:
        raw = await ctx.read_file(source.file, limits.max_bytes, f"{where}file")
    if len(raw) > limits.max_bytes:
        raise limits.too_large(f"{where or 'the input'}".rstrip("."))
    return raw


def as_text(raw: bytes, encoding: str, what: str) -> str:
    try:
        return raw.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        )
    except LookupError as exc:
        raise invalid(f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise invalid(f"{what} is not {encoding} text (byte {exc.start}); give its `encoding`") from exc


async def make(
    raw: bytes, output: Output, ctx: ActionContext, *, name: str, content_type: str, what: str
) -> Made:
    """What an action made, as `output` asks: text, base64 or a new file of the run."""
    limits = Limits.of(ctx)
    if len(raw) > limits.max_bytes:
        raise limits.too_large(what)
    if output == "text":
        try:
            return Made(content=raw.decode())
        except UnicodeDecodeError:
            raise invalid(f"{what} is not UTF-8 text: ask for output base64 or file") from None
    if output == "base64":
        return Made(contentBase64=base64.b64encode(raw).decode())
    return Made(file=await ctx.store_file(raw, name=name, content_type=content_type))


def plain(value: Any) -> Any:
    """A cell's value as JSON: dates as ISO 8601 text, decimals as numbers, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
