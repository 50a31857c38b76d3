"""PostgreSQL: run a query with bound parameters, and a trigger on new rows (an increasing column).

asyncpg talks to the server, through the egress guard (`connect`); parameters are always bound (`$1`,
`$2`...), never pasted into the SQL, and the trigger's table and column names are quoted identifiers, so a
workflow's data cannot change what SQL runs. Values come back as JSON: numbers, text, ISO times, UUIDs as
text, JSON as itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
from pydantic import BaseModel, Field, model_validator

from core.models import AuthType, TriggerType
from core.outbound import pinned_tls
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


@dataclass(frozen=True)
class Target:
    """Where a PostgreSQL connection goes, read from the credentials; one host, never a local socket."""

    host: str
    port: int
    database: str | None
    user: str | None
    password: str | None
    sslmode: str


SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def target_of(credentials: PostgresCredentials) -> Target:
    """The one host a connection may go to. A connection string may not name hosts in its query
    (`?host=/var/run/postgresql`, `hostaddr=`), several hosts, or no host (libpq then uses a local socket
    or PGHOST): each would open a connection the egress guard never checked."""
    if not credentials.connectionString:
        return Target(
            credentials.host or "",
            credentials.port,
            credentials.database,
            credentials.user,
            credentials.password,
            "require" if credentials.ssl else "disable",
        )
    parts = urlsplit(credentials.connectionString)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ValueError("connectionString must start with postgresql://")
    query = parse_qs(parts.query)
    for name in ("host", "hostaddr", "port", "passfile", "service", "sslkey", "sslcert", "sslrootcert"):
        if name in query:
            raise ValueError(f"connectionString may not set {name}= (give the host in the URL itself)")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "," in netloc:
        raise ValueError("connectionString names several hosts; give one")
    if not parts.hostname:
        raise ValueError("connectionString names no host (a local socket is not reachable from workflows)")
    sslmode = (query.get("sslmode") or ["prefer"])[0]
    if sslmode not in SSLMODES:
        raise ValueError(f"sslmode must be one of {', '.join(SSLMODES)}")
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise ValueError(f"connectionString has a bad port: {exc}") from exc
    return Target(
        parts.hostname,
        port,
        unquote(parts.path.lstrip("/")) or None,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
        sslmode,
    )


def _ssl(target: Target) -> Any:
    if target.sslmode == "disable":
        return False
    if target.sslmode in {"allow", "prefer", "require"}:
        return "prefer" if target.sslmode != "require" else "require"  # encrypted, certificate not checked
    return pinned_tls(target.host, check_hostname=target.sslmode == "verify-full")


@asynccontextmanager
async def connect(ctx: ActionContext) -> AsyncIterator[asyncpg.Connection]:
    """A connection through the egress guard: the host is resolved once and checked, and asyncpg connects
    to the checked address (TLS still verifies the name); no PG* environment variable or passfile of the
    worker's machine is read."""
    try:
        target = target_of(PostgresCredentials.model_validate(ctx.credentials))
    except ValueError as exc:
        raise ActionError(
            f"the PostgreSQL connection is incomplete: {exc}", type="InvalidCredentials", retryable=False
        ) from exc
    addresses = await ctx.resolve(target.host, target.port)
    connection: asyncpg.Connection | None = None
    try:
        for index, address in enumerate(addresses):
            try:
                connection = await asyncpg.connect(
                    host=address,
                    port=target.port,
                    database=target.database or target.user or "postgres",
                    user=target.user or "postgres",
                    password=target.password or "",
                    passfile=os.devnull,
                    ssl=_ssl(target),
                    timeout=15,
                )
                break
            except (OSError, TimeoutError):
                if index == len(addresses) - 1:
                    raise
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise auth_failed("PostgreSQL", str(exc)) from exc
    except ssl.SSLError as exc:
        raise ActionError(f"PostgreSQL: TLS failed ({exc.reason})", type="TLSError") from exc
    except TimeoutError as exc:
        raise ActionError("PostgreSQL did not answer in time", type="Timeout") from exc
    except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
        raise ActionError(f"PostgreSQL is unreachable: {exc}", type="ConnectionError") from exc
    except asyncpg.PostgresError as exc:
        raise ActionError(
            f"PostgreSQL refused the connection: {exc}", type="PostgresError", retryable=False
        ) from exc
    assert connection is not None
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
