"""Notion (API version 2022-06-28): create pages, query databases, append blocks.

An internal integration's secret (`ntn_...`/`secret_...`) or an OAuth access token authenticates as a
bearer; every call sends `Notion-Version`. Notion answers errors as `{"object": "error", "status": N,
"code": "...", "message": "..."}`: 401 means reconnect, 429 `rate_limited` waits its Retry-After, 409
`conflict_error` and 5xx are retried, anything else (validation_error, object_not_found: often a page not
shared with the integration) is the user's to fix. https://developers.notion.com/reference
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration, RateLimit

NOTION_VERSION = "2022-06-28"

notion = Integration(
    id="notion",
    name="Notion",
    description="Create pages, query databases and append blocks in Notion",
    icon="/static/icons/notion.svg",
    category="productivity",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    docs_url="https://developers.notion.com/reference",
    website_url="https://www.notion.so",
    base_url="https://api.notion.com/v1",
    # Notion allows an average of three requests a second per integration.
    rate_limit=RateLimit(3, 1),
    example="""A row in a database (its properties as Notion writes them), then the open rows of it:

```json
{"id": "ticket", "type": "action", "action": "notion.create_page",
 "input": {"database_id": "9bc30ad4-9373-46a5-84ab-0a7845ee52e6",
           "properties": {"Name": {"title": [{"text": {"content": "{{ trigger.subject }}"}}]},
                          "Status": {"select": {"name": "Open"}}},
           "children": [{"object": "block", "type": "paragraph",
                         "paragraph": {"rich_text": [{"text": {"content": "{{ trigger.body }}"}}]}}]}}
```

```json
{"id": "open", "type": "action", "action": "notion.query_database",
 "input": {"database_id": "9bc30ad4-9373-46a5-84ab-0a7845ee52e6",
           "filter": {"property": "Status", "select": {"equals": "Open"}},
           "sorts": [{"timestamp": "created_time", "direction": "descending"}], "max_pages": 5}}
```
""",
)

NOTION_ID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
ID_HELP = "(the 32 hex digits at the end of its link, with or without dashes)"


class NotionCredentials(BaseModel):
    accessToken: str = Field(  # noqa: N815
        min_length=1, description="An internal integration secret (ntn_...) or an OAuth access token"
    )
    baseUrl: str | None = Field(default=None, description="Another API address (a test server)")  # noqa: N815


notion.credentials_model = NotionCredentials


async def call(ctx: ActionContext, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {**ctx.bearer(), "Notion-Version": NOTION_VERSION}
    try:
        response = await ctx.request(method, path, headers=headers, json=body)
    except ActionError as exc:
        if exc.type == "HTTP409":  # conflict_error: a data collision; Notion says to try again
            exc.retryable = True
        elif exc.type == "HTTP404":
            exc.message += " (or the page or database is not shared with the integration: Connections)"
        raise
    return response.json()


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "GET", "users/me")


notion.test = test_connection


class PageOutput(BaseModel):
    id: str
    url: str | None = None
    created_time: str | None = None
    properties: dict[str, Any] = Field(
        default_factory=dict, description="Its properties, as Notion reads them"
    )


def _page(body: dict[str, Any]) -> PageOutput:
    return PageOutput.model_validate({k: body[k] for k in PageOutput.model_fields if k in body})


class CreatePageInput(BaseModel):
    database_id: str | None = Field(
        default=None, pattern=NOTION_ID, description=f"A database to add it to {ID_HELP}"
    )
    page_id: str | None = Field(
        default=None, pattern=NOTION_ID, description=f"A page to put it under {ID_HELP}"
    )
    title: str | None = Field(default=None, description="A sub-page's title (under page_id)")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="Property values as Notion writes them (a database row's columns)"
    )
    children: list[dict[str, Any]] = Field(
        default_factory=list, max_length=100, description="Its content blocks"
    )
    icon: dict[str, Any] | None = Field(default=None, description='e.g. {"type": "emoji", "emoji": "🚀"}')

    @model_validator(mode="after")
    def one_parent(self) -> Self:
        if (self.database_id is None) == (self.page_id is None):
            raise ValueError("give exactly one of database_id and page_id")
        return self


@notion.action(
    "create_page", name="Create Page", description="Add a row to a database, or a page under a page"
)
async def create_page(data: CreatePageInput, ctx: ActionContext) -> PageOutput:
    parent = {"database_id": data.database_id} if data.database_id else {"page_id": data.page_id}
    properties = dict(data.properties)
    if data.title is not None:
        properties.setdefault("title", {"title": [{"text": {"content": data.title}}]})
    body: dict[str, Any] = {"parent": parent, "properties": properties}
    if data.children:
        body["children"] = data.children
    if data.icon:
        body["icon"] = data.icon
    return _page(await call(ctx, "POST", "pages", body))


class QueryDatabaseInput(BaseModel):
    database_id: str = Field(pattern=NOTION_ID, description=f"The database {ID_HELP}")
    filter: dict[str, Any] | None = Field(default=None, description="A Notion filter object")
    sorts: list[dict[str, Any]] | None = Field(default=None, description="Notion sort objects")
    page_size: int = Field(default=100, ge=1, le=100, description="Rows per request")
    start_cursor: str | None = Field(default=None, description="Continue from a previous query's next_cursor")
    max_pages: int = Field(
        default=1, ge=1, le=100, description="Follow next_cursor for up to this many requests"
    )


class QueryOutput(BaseModel):
    results: list[dict[str, Any]]
    has_more: bool = Field(description="More rows remain (continue from next_cursor)")
    next_cursor: str | None = None


@notion.action(
    "query_database",
    name="Query Database",
    description="The rows of a database matching a filter, in order, following pagination",
    side_effects=False,
)
async def query_database(data: QueryDatabaseInput, ctx: ActionContext) -> QueryOutput:
    body = data.model_dump(exclude_none=True, include={"filter", "sorts", "page_size"})

    async def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
        answer = await call(
            ctx,
            "POST",
            f"databases/{data.database_id}/query",
            {**body, "start_cursor": cursor} if cursor else body,
        )
        return answer.get("results") or [], answer.get("next_cursor") if answer.get("has_more") else None

    results, cursor = await ctx.pages(fetch, data.start_cursor, data.max_pages, "rows")
    return QueryOutput(results=results, has_more=cursor is not None, next_cursor=cursor)


class AppendBlocksInput(BaseModel):
    block_id: str = Field(pattern=NOTION_ID, description=f"The page or block to append to {ID_HELP}")
    children: list[dict[str, Any]] = Field(min_length=1, max_length=100, description="Block objects (1-100)")
    after: str | None = Field(default=None, pattern=NOTION_ID, description="Insert after this child block")


class AppendBlocksOutput(BaseModel):
    results: list[dict[str, Any]] = Field(description="The appended blocks, with their ids")


@notion.action("append_blocks", name="Append Blocks", description="Add content blocks to a page or block")
async def append_blocks(data: AppendBlocksInput, ctx: ActionContext) -> AppendBlocksOutput:
    body = data.model_dump(exclude_none=True, include={"children", "after"})
    answer = await call(ctx, "PATCH", f"blocks/{data.block_id}/children", body)
    return AppendBlocksOutput(results=answer.get("results") or [])
