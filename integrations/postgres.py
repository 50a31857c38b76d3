"""PostgreSQL: run a query with bound parameters, and a trigger on new rows (an increasing column).

asyncpg talks to the server; parameters are always bound (`$1`, `$2`...), never pasted into the SQL, and
the trigger's table and column names are quoted identifiers, so a workflow's data cannot change what SQL
runs. Values come back as JSON: numbers, text, ISO times, UUIDs as text, JSON as itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from pydantic import BaseModel, Field, model_validator

from core.models import AuthType, TriggerType
from integrations.context import ActionContext, ActionError, auth_failed
from integrations.sdk import Integration, PolledItem, PollResult

postgres = Integration(
    id="postgres",
    name="PostgreSQL",
    description="Query a PostgreSQL database, and react to new rows",
    icon="/static/icons/postgres.svg",
    category="data",
    auth_type=AuthType.BASIC,
    is_popular=True,
    docs_url="https://www.postgresql.org/docs/current/sql.html",
    website_url="https://www.postgresql.org",
)
MAX_ROWS = 1000


class PostgresCredentials(BaseModel):
    """A connection string, or its parts."""

    connectionString: str | None = Field(  # noqa: N815
        default=None, description="postgresql://user:password@host:5432/database?sslmode=require"
    )
    host: str | None = None
    port: int = 5432
    database: str | None = None
    user: str | None = None
    password: str | None = None
    ssl: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> PostgresCredentials:
        if not self.connectionString and not (self.host and self.database and self.user):
            raise ValueError("give connectionString, or host, database and user")
        return self


postgres.credentials_model = PostgresCredentials


@asynccontextmanager
async def connect(ctx: ActionContext) -> AsyncIterator[asyncpg.Connection]:
    try:
        credentials = PostgresCredentials.model_validate(ctx.credentials)
    except ValueError as exc:
        raise ActionError(
            f"the PostgreSQL connection is incomplete: {exc}", type="InvalidCredentials", retryable=False
        ) from exc
    try:
        if credentials.connectionString:
            connection = await asyncpg.connect(credentials.connectionString, timeout=15)
        else:
            connection = await asyncpg.connect(
                host=credentials.host,
                port=credentials.port,
                database=credentials.database,
                user=credentials.user,
                password=credentials.password,
                ssl="require" if credentials.ssl else None,
                timeout=15,
            )
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise auth_failed("PostgreSQL", str(exc)) from exc
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
        raise ActionError(f"PostgreSQL is unreachable: {exc}", type="ConnectionError") from exc
    except asyncpg.PostgresError as exc:
        raise ActionError(
            f"PostgreSQL refused the connection: {exc}", type="PostgresError", retryable=False
        ) from exc
    try:
        yield connection
    finally:
        await connection.close()


def to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def sql_error(exc: asyncpg.PostgresError) -> ActionError:
    # Class 40 (serialization failure, deadlock) and 53/57/08 (resources, shutdown, connection) pass.
    state = getattr(exc, "sqlstate", "") or ""
    passing = state[:2] in {"40", "53", "57", "08"}
    return ActionError(f"PostgreSQL: {exc}", type=f"Postgres.{state or 'error'}", retryable=passing)


class QueryInput(BaseModel):
    query: str = Field(
        min_length=1,
        description="SQL with $1, $2... placeholders",
        examples=["SELECT * FROM users WHERE id = $1"],
    )
    parameters: list[Any] = Field(default_factory=list, description="Values bound to $1, $2...")
    max_rows: int = Field(default=MAX_ROWS, ge=1, le=10_000, alias="maxRows")


class QueryOutput(BaseModel):
    rows: list[dict[str, Any]]
    rowCount: int  # noqa: N815
    command: str = Field(description="The server's status, e.g. SELECT 3 or INSERT 0 1")
    truncated: bool = False


@postgres.action("query", name="Execute Query", description="Run one SQL statement with bound parameters")
async def query(data: QueryInput, ctx: ActionContext) -> QueryOutput:
    async with connect(ctx) as connection:
        try:
            statement = await connection.prepare(data.query)
            rows: list[Any] = await statement.fetch(*data.parameters)
            truncated = len(rows) > data.max_rows
            rows = rows[: data.max_rows]
            status = statement.get_statusmsg() or ""
        except asyncpg.PostgresError as exc:
            raise sql_error(exc) from exc
        except (asyncpg.exceptions.DataError, TypeError, ValueError) as exc:
            raise ActionError(
                f"PostgreSQL: a parameter does not fit: {exc}", type="InvalidInput", retryable=False
            ) from exc
    last = status.rsplit(" ", 1)[-1]
    return QueryOutput(
        rows=[{k: to_json(v) for k, v in row.items()} for row in rows],
        rowCount=int(last) if last.isdigit() else len(rows),
        command=status,
        truncated=truncated,
    )


async def test_connection(ctx: ActionContext) -> None:
    async with connect(ctx) as connection:
        await connection.fetchval("SELECT 1")


postgres.test = test_connection


class NewRowConfig(BaseModel):
    table: str = Field(min_length=1, description="Table (or view) to watch")
    schema_: str = Field(default="public", alias="schema")
    column: str = Field(
        min_length=1, description="A column that grows with each new row: an id or a created_at time"
    )


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def poll_rows(config: NewRowConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    target = f"{quote(config.schema_)}.{quote(config.table)}"
    async with connect(ctx) as connection:
        try:
            column_type = await connection.fetchval(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped",
                target,
                config.column,
            )
            if column_type is None:
                raise ActionError(
                    f"{target} has no column {config.column!r}", type="InvalidConfig", retryable=False
                )
            column = quote(config.column)
            if "last" in cursor:
                rows = await connection.fetch(
                    f"SELECT * FROM {target} WHERE {column} > $1::text::{column_type} "
                    f"ORDER BY {column} LIMIT 100",
                    str(cursor["last"]),
                )
            else:  # the first poll: the newest rows, as a baseline
                rows = list(
                    reversed(
                        await connection.fetch(f"SELECT * FROM {target} ORDER BY {column} DESC LIMIT 100")
                    )
                )
        except asyncpg.UndefinedTableError as exc:
            raise ActionError(f"PostgreSQL: {exc}", type="InvalidConfig", retryable=False) from exc
        except asyncpg.PostgresError as exc:
            raise sql_error(exc) from exc
    items = [
        PolledItem(id=str(to_json(row[config.column])), data={k: to_json(v) for k, v in row.items()})
        for row in rows
    ]
    return PollResult(items=items, cursor={"last": items[-1].id} if items else cursor)


postgres.trigger(
    "new_row",
    name="New Row",
    description="Triggers when a row is added to a table (watching an increasing column)",
    trigger_type=TriggerType.POLLING,
    config_model=NewRowConfig,
    polling_interval=60,
    poll=poll_rows,
)
