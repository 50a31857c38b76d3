"""Airtable (Web API v0): list records with a formula and pagination, create and update (or upsert) them.

A personal access token (`pat...`) authenticates as a bearer. Airtable allows 5 requests a second per
base and answers 429 past it, asking for 30 seconds of quiet: that wait is honoured. Errors come as
`{"error": {"type": "...", "message": "..."}}`: 401 means reconnect, 403/404 (INVALID_PERMISSIONS,
NOT_FOUND: also a table the token cannot see) and 422 (UNKNOWN_FIELD_NAME, INVALID_VALUE_FOR_COLUMN) are
the user's to fix. https://airtable.com/developers/web/api/introduction
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration, RateLimit

QUIET_AFTER_429 = 30.0  # seconds: "you will need to wait 30 seconds before subsequent requests succeed"

airtable = Integration(
    id="airtable",
    name="Airtable",
    description="List, create and update records in Airtable bases",
    icon="/static/icons/airtable.svg",
    category="productivity",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    docs_url="https://airtable.com/developers/web/api/introduction",
    website_url="https://airtable.com",
    base_url="https://api.airtable.com/v0",
    rate_limit=RateLimit(5, 1),
    example="""The open tasks of a table (every page of them), then one marked done, matched by its name:

```json
{"id": "open", "type": "action", "action": "airtable.list_records",
 "input": {"base_id": "appABCDEFGHIJKLMN", "table": "Tasks",
           "filter_by_formula": "AND({Status} = 'Open', {Owner} = '{{ trigger.owner }}')",
           "sort": [{"field": "Due", "direction": "asc"}], "max_pages": 10}}
```

```json
{"id": "close", "type": "action", "action": "airtable.update_records",
 "input": {"base_id": "appABCDEFGHIJKLMN", "table": "Tasks", "merge_on": ["Name"],
           "records": [{"fields": {"Name": "{{ trigger.task }}", "Status": "Done"}}]}}
```
""",
)


class AirtableCredentials(BaseModel):
    accessToken: str = Field(min_length=1, description="A personal access token (pat...)")  # noqa: N815
    baseUrl: str | None = Field(default=None, description="Another API address (a test server)")  # noqa: N815


airtable.credentials_model = AirtableCredentials


async def call(ctx: ActionContext, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = await ctx.request(method, path, headers=ctx.bearer(), **kwargs)
    except ActionError as exc:
        if exc.type == "HTTP429" and exc.retry_after is None:
            exc.retry_after = QUIET_AFTER_429
        raise
    return response.json()


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "GET", "meta/whoami")


airtable.test = test_connection


class Table(BaseModel):
    base_id: str = Field(pattern=r"^app[A-Za-z0-9]{14}$", description="The base's id (app...)")
    table: str = Field(min_length=1, description="The table's name or id (tbl...)")

    def path(self) -> str:
        return f"{self.base_id}/{quote(self.table, safe='')}"


class Sort(BaseModel):
    field: str
    direction: str = Field(default="asc", pattern="^(asc|desc)$")


class ListRecordsInput(Table):
    filter_by_formula: str | None = Field(
        default=None, description="Only records for which this formula is true"
    )
    view: str | None = Field(default=None, description="Only the records of this view, in its order")
    fields: list[str] | None = Field(default=None, description="Only these fields of each record")
    sort: list[Sort] | None = None
    page_size: int = Field(default=100, ge=1, le=100, description="Records per request")
    max_records: int | None = Field(default=None, ge=1, description="At most this many records in all")
    offset: str | None = Field(default=None, description="Continue from a previous listing's offset")
    max_pages: int = Field(
        default=1, ge=1, le=100, description="Follow `offset` for up to this many requests"
    )


class ListRecordsOutput(BaseModel):
    records: list[dict[str, Any]] = Field(description="Each with id, createdTime and fields")
    offset: str | None = Field(
        default=None, description="Where the next listing would continue; none at the end"
    )


def _list_params(data: ListRecordsInput) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [("pageSize", data.page_size)]
    if data.filter_by_formula:
        params.append(("filterByFormula", data.filter_by_formula))
    if data.view:
        params.append(("view", data.view))
    if data.max_records:
        params.append(("maxRecords", data.max_records))
    params += [("fields[]", name) for name in data.fields or []]
    for index, order in enumerate(data.sort or []):
        params += [(f"sort[{index}][field]", order.field), (f"sort[{index}][direction]", order.direction)]
    return params


@airtable.action(
    "list_records",
    name="List Records",
    description="The records of a table matching a formula, in order, following pagination",
    side_effects=False,
)
async def list_records(data: ListRecordsInput, ctx: ActionContext) -> ListRecordsOutput:
    async def fetch(offset: str | None) -> tuple[list[Any], str | None]:
        params = _list_params(data) + ([("offset", offset)] if offset else [])
        answer = await call(ctx, "GET", data.path(), params=params)
        return answer.get("records") or [], answer.get("offset")

    records, offset = await ctx.pages(fetch, data.offset, data.max_pages, "records")
    return ListRecordsOutput(records=records, offset=offset)


class NewRecord(BaseModel):
    fields: dict[str, Any] = Field(description="Field name -> value")


class ChangedRecord(BaseModel):
    id: str | None = Field(default=None, pattern=r"^rec[A-Za-z0-9]{14}$", description="The record (rec...)")
    fields: dict[str, Any] = Field(description="The fields to change (others are kept)")


class CreateRecordsInput(Table):
    records: list[NewRecord] = Field(min_length=1, max_length=10, description="1-10 records")
    typecast: bool = Field(
        default=False, description="Convert strings to the fields' types (new select options)"
    )


class RecordsOutput(BaseModel):
    records: list[dict[str, Any]] = Field(description="The records as Airtable keeps them (with their ids)")
    created: list[str] = Field(default_factory=list, description="An upsert: ids of the records it created")


@airtable.action("create_records", name="Create Records", description="Add 1-10 records to a table")
async def create_records(data: CreateRecordsInput, ctx: ActionContext) -> RecordsOutput:
    body = data.model_dump(include={"records", "typecast"})
    answer = await call(ctx, "POST", data.path(), json=body)
    return RecordsOutput(records=answer.get("records") or [])


class UpdateRecordsInput(Table):
    records: list[ChangedRecord] = Field(min_length=1, max_length=10, description="1-10 records")
    merge_on: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="Upsert: match records by these fields instead of ids, creating those that match none",
    )
    typecast: bool = False


@airtable.action(
    "update_records",
    name="Update Records",
    description="Change fields of 1-10 records by id, or upsert them matched on fields (merge_on)",
)
async def update_records(data: UpdateRecordsInput, ctx: ActionContext) -> RecordsOutput:
    for index, record in enumerate(data.records):
        if record.id is None and not data.merge_on:
            raise ActionError(
                f"input.records[{index}].id is required unless merge_on is given",
                type="InvalidInput",
                retryable=False,
            )
    body: dict[str, Any] = {
        "records": [r.model_dump(exclude_none=True) for r in data.records],
        "typecast": data.typecast,
    }
    if data.merge_on:
        body["performUpsert"] = {"fieldsToMergeOn": data.merge_on}
    answer = await call(ctx, "PATCH", data.path(), json=body)
    return RecordsOutput(records=answer.get("records") or [], created=answer.get("createdRecords") or [])
