"""Google Sheets (API v4): read, append and update cell values by A1 ranges.

An OAuth2 connection through Google (the `google` entry of core/oauth_providers.json, with the
spreadsheets scope; OAUTH_CLIENTS["google_sheets"] holds the client), refreshed by the runtime before it
expires; or an access token pasted by hand. Google answers errors as `{"error": {"code": N, "message":
"...", "status": "INVALID_ARGUMENT"}}`: 401 means reconnect (after one refresh), 429 RESOURCE_EXHAUSTED and
5xx are retried, any other 4xx (a range that does not parse, a sheet that is not there, no permission on
the file) is the user's to fix. https://developers.google.com/sheets/api/reference/rest
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.context import ActionContext
from integrations.sdk import Integration, OAuth2Credentials, RateLimit, provider_oauth2

sheets = Integration(
    id="google_sheets",
    name="Google Sheets",
    description="Read, append and update rows of Google Sheets",
    icon="/static/icons/google_sheets.svg",
    category="productivity",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://developers.google.com/sheets/api/reference/rest",
    website_url="https://sheets.google.com",
    oauth2=provider_oauth2("google", ("https://www.googleapis.com/auth/spreadsheets",)),
    base_url="https://sheets.googleapis.com/v4",
    # Google allows 60 read and 60 write requests a minute per user and project.
    rate_limit=RateLimit(60, 60),
    example="""A form's answer appended as a row (formulas and dates read as typed), then a total read back:

```json
{"id": "row", "type": "action", "action": "google_sheets.append_values",
 "input": {"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "range": "'Orders 2026'!A:D",
           "values": [["{{ trigger.order_id }}", "{{ trigger.email }}", "{{ trigger.total }}", "=NOW()"]]}}
```

```json
{"id": "total", "type": "action", "action": "google_sheets.get_values",
 "input": {"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "range": "Summary!B2"}}
```
""",
)


sheets.credentials_model = OAuth2Credentials

SPREADSHEET_ID = Field(
    pattern=r"^[A-Za-z0-9_-]{20,100}$",
    description="The spreadsheet's id (from its URL: /spreadsheets/d/ID/edit)",
)
A1_RANGE = Field(
    min_length=1,
    max_length=500,
    description="An A1 range: Sheet1!A1:C10, 'My sheet'!A:C, Sheet1 (the whole sheet)",
)
Dimension = Literal["ROWS", "COLUMNS"]


def _values(spreadsheet_id: str, a1: str, suffix: str = "") -> str:
    return f"spreadsheets/{spreadsheet_id}/values/{quote(a1, safe='')}{suffix}"


async def call(ctx: ActionContext, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await ctx.request(method, path, headers=ctx.bearer(), **kwargs)
    body: dict[str, Any] = response.json()
    return body


class GetValuesInput(BaseModel):
    spreadsheet_id: str = SPREADSHEET_ID
    range: str = A1_RANGE
    major_dimension: Dimension = Field(default="ROWS", description="Rows of cells, or columns of them")
    value_render_option: Literal["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"] = Field(
        default="FORMATTED_VALUE", description="Values as shown, as stored, or the formulas"
    )


class ValuesOutput(BaseModel):
    range: str = Field(description="The range read, as the sheet names it")
    major_dimension: Dimension
    values: list[list[Any]] = Field(description="The cells (trailing empty rows and cells left out)")


@sheets.action("get_values", name="Get Values", description="Read the cells of a range", side_effects=False)
async def get_values(data: GetValuesInput, ctx: ActionContext) -> ValuesOutput:
    params = {"majorDimension": data.major_dimension, "valueRenderOption": data.value_render_option}
    body = await call(ctx, "GET", _values(data.spreadsheet_id, data.range), params=params)
    return ValuesOutput(
        range=body.get("range", data.range),
        major_dimension=body.get("majorDimension", data.major_dimension),
        values=body.get("values") or [],
    )


class WriteValuesInput(BaseModel):
    spreadsheet_id: str = SPREADSHEET_ID
    range: str = A1_RANGE
    values: list[list[Any]] = Field(
        min_length=1, description="The cells to write, a list per row (or column)"
    )
    major_dimension: Dimension = "ROWS"
    value_input_option: Literal["USER_ENTERED", "RAW"] = Field(
        default="USER_ENTERED",
        description="USER_ENTERED: parsed as if typed (formulas, dates); RAW: as given",
    )


class UpdatedOutput(BaseModel):
    spreadsheet_id: str
    updated_range: str = Field(description="Where the cells were written")
    updated_rows: int = 0
    updated_columns: int = 0
    updated_cells: int = 0


def _updated(body: dict[str, Any]) -> UpdatedOutput:
    return UpdatedOutput(
        spreadsheet_id=body.get("spreadsheetId", ""),
        updated_range=body.get("updatedRange", ""),
        updated_rows=body.get("updatedRows", 0),
        updated_columns=body.get("updatedColumns", 0),
        updated_cells=body.get("updatedCells", 0),
    )


def _write_body(data: WriteValuesInput) -> dict[str, Any]:
    return {"range": data.range, "majorDimension": data.major_dimension, "values": data.values}


class AppendValuesInput(WriteValuesInput):
    insert_data_option: Literal["INSERT_ROWS", "OVERWRITE"] = Field(
        default="INSERT_ROWS",
        description="Insert new rows for the data, or write over the cells after the table",
    )


@sheets.action(
    "append_values",
    name="Append Rows",
    description="Add rows after the table found in a range (the rows already there are kept)",
)
async def append_values(data: AppendValuesInput, ctx: ActionContext) -> UpdatedOutput:
    params = {"valueInputOption": data.value_input_option, "insertDataOption": data.insert_data_option}
    path = _values(data.spreadsheet_id, data.range, ":append")
    body = await call(ctx, "POST", path, params=params, json=_write_body(data))
    return _updated({"spreadsheetId": body.get("spreadsheetId"), **(body.get("updates") or {})})


@sheets.action("update_values", name="Update Values", description="Write cells over a range")
async def update_values(data: WriteValuesInput, ctx: ActionContext) -> UpdatedOutput:
    params = {"valueInputOption": data.value_input_option}
    path = _values(data.spreadsheet_id, data.range)
    return _updated(await call(ctx, "PUT", path, params=params, json=_write_body(data)))
