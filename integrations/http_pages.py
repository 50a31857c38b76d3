"""Pagination for `http.request` (its `paginate` field): read page after page of a listing API and answer
the items of them all, with the pages' figures.

Four ways to find the next page: the `Link: <...>; rel="next"` header (RFC 8288, GitHub, Shopify...), a
cursor an expression reads from the last page (Stripe's `starting_after`, Slack's `next_cursor`), a page
number, or an offset. Each page's items are where the `items` expression says (the body by default); the
pages end when there is no next one, when a page-number or offset listing answers an empty or short page,
when `stopWhen` holds over the last page, or at `maxPages`.

The expressions (`items`, `cursor`, `stopWhen`) are written without braces, since the step's input is
rendered before the call; they are evaluated per page, bounded like every expression, over `response`
(`status`, `headers`, `body`) and `page` (the page's number, from 1).

A retry resumes at the failed page: after each page the call heartbeats where it is and the items so far
(a paginated request runs as a regular activity, on the `long` profile, never a local one), and the next
attempt starts from its last heartbeat, so pages read once are not read again. A failed attempt reports its
last position as it ends; after a worker crash the retry (once the 60 s heartbeat timeout passed) starts
from the last heartbeat Temporal received, at most 2 s old (worker.main.HEARTBEAT_THROTTLE).
The items are bounded in total (HTTP_PAGES_MAX_BYTES, they ride in the heartbeat) and the pages by
HTTP_PAGES_DEFAULT and HTTP_PAGES_MAX. A next link must stay on the first URL's origin: the
connection's credentials go with it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

import httpx
from pydantic import BaseModel, Field, model_validator

from core.expressions import ExpressionError, compile_expression, evaluate
from core.redaction import Secrets, scrub
from core.settings import Settings
from integrations.context import ActionContext, ActionError

# A page's request: the URL and the query parameters pagination adds; answers the response and its body.
SendPage = Callable[[str, dict[str, str]], Awaitable[tuple[httpx.Response, Any]]]
PAGE_NAMES = ("response", "page")
DEFAULT_PARAMS = {"cursor": "cursor", "page": "page", "offset": "offset"}
STATE_VERSION = 1


class Pagination(BaseModel):
    """How `http.request` reads a listing page after page (see integrations/http_pages.py)."""

    type: Literal["link", "cursor", "page", "offset"] = Field(
        description='link: follow the Link header\'s rel="next"; cursor: send the cursor `cursor` reads '
        "from the last page; page: a page number; offset: an offset in items"
    )
    items: str = Field(
        default="response.body",
        description="Expression (no braces) over `response` and `page`: the list of items in a page",
        examples=["response.body.data"],
    )
    cursor: str | None = Field(
        default=None,
        description="type cursor: expression (no braces) reading the next cursor from the last page; "
        "null or empty ends the pages",
        examples=["response.body.meta.next_cursor"],
    )
    param: str | None = Field(
        default=None,
        description="The query parameter carrying the cursor, page number or offset (default: cursor, "
        "page, offset)",
    )
    start: int | None = Field(default=None, ge=0, description="The first page number (1) or offset (0)")
    limit: int | None = Field(
        default=None, ge=1, description="Page size sent as `limitParam`; a page with fewer items is the last"
    )
    limit_param: str = Field(default="limit", alias="limitParam")
    max_pages: int | None = Field(
        default=None,
        ge=1,
        alias="maxPages",
        description="At most this many pages (default and most allowed: the installation's "
        "HTTP_PAGES_DEFAULT and HTTP_PAGES_MAX)",
    )
    stop_when: str | None = Field(
        default=None,
        alias="stopWhen",
        description="Expression (no braces) over the last page: true ends the pages after it",
        examples=["response.body.items | length < 50"],
    )

    @model_validator(mode="after")
    def _complete(self) -> Pagination:
        if self.type == "cursor" and not self.cursor:
            raise ValueError("type cursor needs `cursor`: an expression reading the next cursor")
        for name, field_name in (("items", "items"), ("cursor", "cursor"), ("stopWhen", "stop_when")):
            source = getattr(self, field_name)
            if source is None:
                continue
            if "{{" in source:
                raise ValueError(f"{name}: write the expression without {{{{ }}}} (it is evaluated per page)")
            try:
                compile_expression(_whole(source), names=PAGE_NAMES)
            except ExpressionError as exc:
                raise ValueError(f"{name}: {exc.message}") from exc
        return self


class PagesSummary(BaseModel):
    count: int = Field(description="Pages read")
    last_status: int = Field(alias="lastStatus")
    stopped_by: str = Field(
        alias="stoppedBy", description="last page (no next one), empty page, short page, stopWhen or maxPages"
    )
    more: bool = Field(description="maxPages ended the pages while another one was announced")
    resumed_at: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        alias="resumedAt",
        description="The page a retry resumed at (pages before it not read again)",
    )


@dataclass
class Position:
    """Where a paginated call is: what it heartbeats after each page and a retry resumes from."""

    url: str
    query: dict[str, str]
    pages: int = 0
    size: int = 0
    items: list[Any] = field(default_factory=list)
    value: int | None = None  # the page number or offset sent
    version: int = STATE_VERSION

    @classmethod
    def resumed(cls, details: Any) -> Position | None:
        if not isinstance(details, dict) or details.get("version") != STATE_VERSION:
            return None
        try:
            return cls(**details)
        except TypeError:
            return None


@dataclass(frozen=True)
class PageLimits:
    default: int
    most: int
    max_bytes: int

    @classmethod
    def of(cls, settings: Settings | None) -> PageLimits:
        if settings is None:  # the defaults
            fields = Settings.model_fields
            return cls(*(fields[f"http_pages_{name}"].default for name in ("default", "max", "max_bytes")))
        return cls(settings.http_pages_default, settings.http_pages_max, settings.http_pages_max_bytes)


def _whole(source: str) -> str:
    return "{{ " + source + " }}"


def _value(source: str, scope: dict[str, Any], what: str) -> Any:
    try:
        return evaluate(_whole(source), scope, names=PAGE_NAMES)
    except ExpressionError as exc:
        raise ActionError(
            f"paginate.{what}: {exc.message} (page {scope['page']})", type="InvalidInput", retryable=False
        ) from exc


def _first(spec: Pagination, url: str, query: dict[str, str]) -> Position:
    if spec.type in ("page", "offset"):
        value = spec.start if spec.start is not None else (1 if spec.type == "page" else 0)
        return Position(url, {**query, _param(spec): str(value), **_limit(spec)}, value=value)
    return Position(url, {**query, **_limit(spec)})


def _param(spec: Pagination) -> str:
    return spec.param or DEFAULT_PARAMS[spec.type]


def _limit(spec: Pagination) -> dict[str, str]:
    return {spec.limit_param: str(spec.limit)} if spec.limit is not None else {}


def _same_origin(first: str, other: str) -> bool:
    a, b = httpx.URL(first), httpx.URL(other)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _next(
    spec: Pagination,
    at: Position,
    response: httpx.Response,
    scope: dict[str, Any],
    found: list[Any],
    origin: str,
) -> Position | str:
    """The next page's position, or why there is none."""
    if spec.type == "link":
        link = response.links.get("next", {}).get("url")
        if not link:
            return "last page"
        target = urljoin(str(response.url), link)
        if not _same_origin(origin, target):
            raise ActionError(
                f"paginate: the next link {target} leaves {httpx.URL(origin).host}; the connection's "
                "credentials are only sent to the first URL's origin",
                type="InvalidInput",
                retryable=False,
            )
        return Position(target, {})
    if spec.type == "cursor":
        assert spec.cursor is not None
        cursor = _value(spec.cursor, scope, "cursor")
        if cursor in (None, "", False) or str(cursor) == at.query.get(_param(spec)):
            return "last page"
        return Position(at.url, {**at.query, _param(spec): str(cursor)})
    if not found:
        return "empty page"
    if spec.limit is not None and len(found) < spec.limit:
        return "short page"
    value = (at.value or 0) + (1 if spec.type == "page" else len(found))
    return Position(at.url, {**at.query, _param(spec): str(value)}, value=value)


async def paginate(
    spec: Pagination, url: str, query: dict[str, str], send: SendPage, ctx: ActionContext
) -> tuple[list[Any], PagesSummary, httpx.Response]:
    """Reads the pages; answers their items, the summary and the last page's response."""
    limits = PageLimits.of(ctx.settings)
    most = spec.max_pages or min(limits.default, limits.most)
    if most > limits.most:
        raise ActionError(
            f"paginate.maxPages {most} is above this installation's limit of {limits.most} pages "
            "(HTTP_PAGES_MAX)",
            type="InvalidInput",
            retryable=False,
        )
    at = Position.resumed(ctx.resumed)
    resumed_at = None
    if at is not None:
        resumed_at = at.pages + 1
        ctx.logger.info("resuming the pages of %s at page %d", url, resumed_at)
    else:
        at = _first(spec, url, query)
    while True:
        response, body = await send(at.url, at.query)
        number = at.pages + 1
        scope = {
            "response": {"status": response.status_code, "headers": dict(response.headers), "body": body},
            "page": number,
        }
        found = _value(spec.items, scope, "items")
        if found is None:
            found = []
        if not isinstance(found, list):
            raise ActionError(
                f"paginate.items must be a list of items; page {number} gave {type(found).__name__}",
                type="InvalidInput",
                retryable=False,
            )
        size = at.size + len(json.dumps(found, separators=(",", ":")))
        if size > limits.max_bytes:
            raise ActionError(
                f"the items of {number} pages exceed {limits.max_bytes // 1024} KiB, this installation's "
                "limit (HTTP_PAGES_MAX_BYTES): narrow the pages or lower maxPages",
                type="OutputTooLarge",
                retryable=False,
            )
        items = at.items + found
        following: Position | str
        if spec.stop_when and _value(spec.stop_when, scope, "stopWhen"):
            following = "stopWhen"
        else:
            following = _next(spec, at, response, scope, found, url)
        if isinstance(following, str) or number >= most:
            stopped = following if isinstance(following, str) else "maxPages"
            summary = PagesSummary(
                count=number,
                lastStatus=response.status_code,
                stoppedBy=stopped,
                more=not isinstance(following, str),
                resumedAt=resumed_at,
            )
            return items, summary, response
        following.pages, following.size, following.items = number, size, items
        at = following
        await ctx.progress(number, most, f"page {number}")
        # last: what a retry resumes from (in Temporal, so without the connection's secrets, as the output)
        ctx.heartbeat(scrub(asdict(at), Secrets.of(ctx.credentials)))
