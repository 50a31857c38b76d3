"""The workspace data store: state kept between runs (keys, JSON values, TTL, atomic increment) and the
"only new items" memory of what a workflow has already seen.

Design choices:
- Values live in PostgreSQL (`data_store_entries`), not Redis: Redis is a cache here and may be flushed,
  while this is data users count on, so it must be durable and in the backups. One row per (workspace,
  namespace, key); namespace '' holds the keys steps and the API name, `seen:<workflow id>` (or `seen:` for
  the whole workspace) the items the "only new items" action has seen, out of the API's listing.
- Every write is one `INSERT ... ON CONFLICT DO UPDATE` statement, so concurrent runs never lose an update:
  PostgreSQL locks the row and applies each increment to the value the previous one left.
- TTL: a row past `expires_at` reads as absent and is overwritten as if absent; the retention run
  (core.ops.retention) deletes such rows. An increment's TTL is set when it creates the key (or finds it
  expired): a counter per time window keeps its window however often it is incremented.
- Idempotency: an action retried after a lost answer passes the same operation id (its step's idempotency
  key). The row keeps the id of the operation that wrote it last, and an increment or a mark with that id
  is not applied again; the worker's action-result cache covers retries that come after other writes.
- Limits: a value's JSON text is at most MAX_VALUE_BYTES; a workspace holds at most its plan's number of
  keys and bytes (items seen by "only new items" are bounded by their TTL instead). The room is checked
  before a write that creates a key, without a lock: concurrent creations may pass it by a few keys.
- Tenant isolation: every statement is bounded by the workspace id the caller was authorised for (the API's
  path checked against membership; an action's own run), never by one taken from the input.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import delete_in_batches
from core.errors import InvalidInput, LimitExceeded, NotFound
from core.models import Plan

MAX_KEY_LENGTH = 512
MAX_VALUE_BYTES = 256 * 1024
MAX_SEEN_ITEMS = 10_000  # items one "only new items" call may check
MAX_STEP = 2**53  # the largest increment
MAX_TTL_SECONDS = 10 * 365 * 86400  # past this a date overflows long before it matters
# Per plan: (keys, bytes of values) a workspace may hold.
PLAN_ROOM: dict[Plan, tuple[int, int]] = {
    Plan.FREE: (1_000, 10 * 2**20),
    Plan.STARTER: (10_000, 100 * 2**20),
    Plan.PROFESSIONAL: (100_000, 2**30),
    Plan.ENTERPRISE: (1_000_000, 10 * 2**30),
}
USER = ""  # the namespace of the keys steps and the API name
NUMBER_BYTES = 16  # what a counter counts for in the byte limit

Db = AsyncConnection | AsyncSession
LIVE = "(e.expires_at IS NULL OR e.expires_at > now())"
EXPIRED = "(e.expires_at IS NOT NULL AND e.expires_at <= now())"
COLUMNS = "e.key, e.value, e.expires_at, e.version, e.created_at, e.updated_at"


@dataclass(frozen=True)
class Entry:
    key: str
    value: Any
    expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


def _entry(row: Any) -> Entry:
    return Entry(row.key, row.value, row.expires_at, row.version, row.created_at, row.updated_at)


def seen_namespace(workflow_id: str | None) -> str:
    """Where "only new items" keeps what it saw: per workflow, or (None) shared by the workspace."""
    return f"seen:{workflow_id or ''}"


def check_key(key: str, *, path: str = "key") -> str:
    if not key or len(key.encode()) > MAX_KEY_LENGTH:
        raise InvalidInput(f"a key is 1 to {MAX_KEY_LENGTH} bytes long", path=path)
    return key


def _encoded(value: Any, *, path: str = "value") -> str:
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the value is not JSON ({exc})", path=path) from exc
    if len(encoded.encode()) > MAX_VALUE_BYTES:
        raise LimitExceeded(
            f"a data store value may be at most {MAX_VALUE_BYTES // 1024} KiB of JSON; this one is "
            f"{len(encoded.encode()) // 1024} KiB",
            path=path,
        )
    return encoded


def _expiry(ttl_seconds: float | None, *, path: str = "ttlSeconds") -> datetime | None:
    if ttl_seconds is None:
        return None
    if not math.isfinite(ttl_seconds) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput(
            f"ttlSeconds must be a positive number of seconds, at most {MAX_TTL_SECONDS:,} (10 years)",
            path=path,
        )
    return datetime.now(UTC) + timedelta(seconds=ttl_seconds)


async def get(db: Db, workspace_id: str, key: str, *, namespace: str = USER) -> Entry | None:
    """The live entry under `key`, or None (absent or expired)."""
    row = (
        await db.execute(
            text(
                f"SELECT {COLUMNS} FROM data_store_entries e WHERE e.workspace_id = :ws "
                f"AND e.namespace = :ns AND e.key = :key AND {LIVE}"
            ),
            {"ws": workspace_id, "ns": namespace, "key": key},
        )
    ).first()
    return _entry(row) if row is not None else None


async def require(db: Db, workspace_id: str, key: str) -> Entry:
    entry = await get(db, workspace_id, key)
    if entry is None:
        raise NotFound(f"the data store has no key {key!r}", path="key")
    return entry


async def _check_room(db: Db, workspace_id: str, key: str, size: int) -> None:
    """Refuses a write that would take the workspace past its plan's keys or bytes (the key's own current
    value does not count: it is being replaced)."""
    row = (
        await db.execute(
            text(
                "SELECT w.plan, count(e.key) AS keys, coalesce(sum(e.size), 0) AS bytes FROM workspaces w "
                "LEFT JOIN data_store_entries e ON e.workspace_id = w.id AND e.namespace = '' "
                f"AND e.key <> :key AND {LIVE} WHERE w.id = :ws GROUP BY w.plan"
            ),
            {"ws": workspace_id, "key": key},
        )
    ).first()
    if row is None:
        raise NotFound("no such workspace", path="workspaceId")
    max_keys, max_bytes = PLAN_ROOM[Plan(row.plan)]
    if row.keys >= max_keys:
        raise LimitExceeded(
            f"the workspace's data store holds {row.keys} keys, its plan's limit; delete some or let them "
            "expire (ttlSeconds)",
            path="key",
        )
    if row.bytes + size > max_bytes:
        raise LimitExceeded(
            f"the workspace's data store would hold more than its plan's {max_bytes // 2**20} MiB",
            path="value",
        )


async def put(
    db: Db,
    workspace_id: str,
    key: str,
    value: Any,
    *,
    ttl_seconds: float | None = None,
    if_absent: bool = False,
    operation: str | None = None,
) -> tuple[Entry, bool]:
    """Sets `key` to `value` (expiring after `ttl_seconds`, else never). `if_absent`: only when the key has
    no live value. Returns the entry now under the key and whether this call wrote it."""
    check_key(key)
    encoded = _encoded(value)
    expires_at = _expiry(ttl_seconds)
    await _check_room(db, workspace_id, key, len(encoded.encode()))
    only_absent = f"WHERE {EXPIRED}" if if_absent else ""
    row = (
        await db.execute(
            text(
                "INSERT INTO data_store_entries AS e (workspace_id, namespace, key, value, size, expires_at, "
                "last_operation, updated_at) VALUES (:ws, '', :key, CAST(:value AS jsonb), :size, :expires, "
                ":op, now()) ON CONFLICT (workspace_id, namespace, key) DO UPDATE SET "
                "value = EXCLUDED.value, size = EXCLUDED.size, expires_at = EXCLUDED.expires_at, "
                "last_operation = EXCLUDED.last_operation, version = e.version + 1, updated_at = now(), "
                f"created_at = CASE WHEN {EXPIRED} THEN now() ELSE e.created_at END "
                f"{only_absent} RETURNING {COLUMNS}"
            ),
            {
                "ws": workspace_id,
                "key": key,
                "value": encoded,
                "size": len(encoded.encode()),
                "expires": expires_at,
                "op": operation,
            },
        )
    ).first()
    if row is not None:
        return _entry(row), True
    return await require(db, workspace_id, key), False


async def delete(db: Db, workspace_id: str, key: str) -> bool:
    """Removes `key`; whether it had a live value."""
    row = (
        await db.execute(
            text(
                "DELETE FROM data_store_entries e WHERE e.workspace_id = :ws AND e.namespace = '' "
                f"AND e.key = :key RETURNING {LIVE} AS live"
            ),
            {"ws": workspace_id, "key": key},
        )
    ).first()
    return bool(row is not None and row.live)


async def increment(
    db: Db,
    workspace_id: str,
    key: str,
    by: float = 1,
    *,
    ttl_seconds: float | None = None,
    operation: str | None = None,
) -> Entry:
    """Adds `by` to the number under `key` (an absent or expired key counts from 0) in one statement, so
    concurrent increments all count. `ttl_seconds` applies when this creates the key. An `operation`
    already applied to the key is not applied again (a retried step)."""
    check_key(key)
    # within what a JSON number keeps exactly (2**53): a counter, not arbitrary precision
    if isinstance(by, bool) or not (isinstance(by, int) or math.isfinite(by)) or abs(by) > MAX_STEP:
        raise InvalidInput(f"`by` must be a number between -{MAX_STEP} and {MAX_STEP}", path="by")
    expires_at = _expiry(ttl_seconds)
    if await get(db, workspace_id, key) is None:
        await _check_room(db, workspace_id, key, NUMBER_BYTES)
    row = (
        await db.execute(
            text(
                "INSERT INTO data_store_entries AS e (workspace_id, namespace, key, value, size, expires_at, "
                "last_operation, updated_at) VALUES (:ws, '', :key, to_jsonb(CAST(:by AS numeric)), :size, "
                ":expires, :op, now()) ON CONFLICT (workspace_id, namespace, key) DO UPDATE SET "
                f"value = CASE WHEN {EXPIRED} THEN EXCLUDED.value "
                "ELSE to_jsonb(CAST(e.value #>> '{}' AS numeric) + CAST(:by AS numeric)) END, "
                f"expires_at = CASE WHEN {EXPIRED} THEN EXCLUDED.expires_at ELSE e.expires_at END, "
                f"created_at = CASE WHEN {EXPIRED} THEN now() ELSE e.created_at END, "
                "size = EXCLUDED.size, last_operation = EXCLUDED.last_operation, version = e.version + 1, "
                f"updated_at = now() WHERE {EXPIRED} OR (jsonb_typeof(e.value) = 'number' AND "
                "(CAST(:op AS text) IS NULL OR e.last_operation IS DISTINCT FROM CAST(:op AS text))) "
                f"RETURNING {COLUMNS}"
            ),
            {
                "ws": workspace_id,
                "key": key,
                "by": by,
                "size": NUMBER_BYTES,
                "expires": expires_at,
                "op": operation,
            },
        )
    ).first()
    if row is not None:
        return _entry(row)
    current = await require(db, workspace_id, key)
    if isinstance(current.value, bool) or not isinstance(current.value, int | float):
        raise InvalidInput(
            f"the data store's key {key!r} holds a {type(current.value).__name__}, not a number", path="key"
        )
    return current  # this operation was applied already


async def entries(
    db: Db, workspace_id: str, *, prefix: str = "", after: str | None = None, limit: int = 50
) -> list[Entry]:
    """Live entries whose key starts with `prefix`, in key order, after the key `after`; one more than
    `limit` when a page follows."""
    rows = await db.execute(
        text(
            f"SELECT {COLUMNS} FROM data_store_entries e WHERE e.workspace_id = :ws AND e.namespace = '' "
            "AND e.key >= :prefix AND starts_with(e.key, :prefix) "
            f"AND (CAST(:after AS text) IS NULL OR e.key > :after) AND {LIVE} "
            "ORDER BY e.key LIMIT :limit"
        ),
        {"ws": workspace_id, "prefix": prefix, "after": after, "limit": limit + 1},
    )
    return [_entry(row) for row in rows]


async def mark_seen(
    db: Db,
    workspace_id: str,
    namespace: str,
    keys: list[str],
    *,
    ttl_seconds: float | None = None,
    operation: str | None = None,
) -> set[str]:
    """Marks `keys` seen in `namespace` and answers those not seen before (nor expired since), in one
    statement: of two runs marking the same key at once, exactly one gets it as new. Keys this
    `operation` marked already count as new again (a retried step answers what it answered first)."""
    if len(keys) > MAX_SEEN_ITEMS:
        raise LimitExceeded(f"at most {MAX_SEEN_ITEMS} items may be checked at once", path="items")
    for index, key in enumerate(keys):
        check_key(key, path=f"items[{index}]")
    unique = list(dict.fromkeys(keys))  # one statement may not touch a row twice
    if not unique:
        return set()
    rows = await db.execute(
        text(
            "INSERT INTO data_store_entries AS e (workspace_id, namespace, key, value, size, expires_at, "
            "last_operation, updated_at) SELECT :ws, :ns, k, 'true'::jsonb, 0, :expires, :op, now() "
            "FROM unnest(CAST(:keys AS text[])) AS k ON CONFLICT (workspace_id, namespace, key) DO UPDATE "
            "SET expires_at = EXCLUDED.expires_at, last_operation = EXCLUDED.last_operation, "
            f"version = e.version + 1, updated_at = now() WHERE {EXPIRED} OR "
            "(CAST(:op AS text) IS NOT NULL AND e.last_operation = CAST(:op AS text)) RETURNING e.key"
        ),
        {
            "ws": workspace_id,
            "ns": namespace,
            "keys": unique,
            "expires": _expiry(ttl_seconds),
            "op": operation,
        },
    )
    return {row.key for row in rows}


async def workflow_of_execution(db: Db, workspace_id: str, execution_id: str) -> str | None:
    """The workflow a run of this workspace belongs to (None when it is not one of its runs)."""
    row = (
        await db.execute(
            text(
                "SELECT x.workflow_id FROM workflow_executions x JOIN workflows w ON w.id = x.workflow_id "
                "WHERE x.id = :id AND w.workspace_id = :ws"
            ),
            {"id": execution_id, "ws": workspace_id},
        )
    ).first()
    return str(row.workflow_id) if row is not None else None


async def sweep_expired(engine: AsyncEngine, now: datetime, *, batch: int, dry_run: bool) -> int:
    """Deletes the rows that expired before `now`, and the items seen by workflows since deleted (no foreign
    key ties a namespace to its workflow), `batch` at a time; how many."""
    expired = await delete_in_batches(
        engine,
        "data_store_entries",
        "ctid",
        "SELECT ctid FROM data_store_entries WHERE expires_at <= :before",
        {"before": now},
        batch=batch,
        dry_run=dry_run,
    )
    orphaned = await delete_in_batches(
        engine,
        "data_store_entries",
        "ctid",
        "SELECT e.ctid FROM data_store_entries e WHERE e.namespace LIKE 'seen:_%' AND NOT EXISTS "
        "(SELECT 1 FROM workflows w WHERE w.id = substr(e.namespace, 6))",
        {},
        batch=batch,
        dry_run=dry_run,
    )
    return expired + orphaned
