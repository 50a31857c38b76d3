"""Store: state kept between runs, in the workspace's data store (core.datastore), from steps.

No connection: an action works on the data store of the workspace its run belongs to, never another one
(the workspace comes from the run, not from the input). Writes are side effects, so a retried step reuses
the output of an attempt that acted; `store.incr` and `store.only_new` also pass the step's idempotency key
to the database, so an attempt that acted but lost its answer before that output was kept is not applied
twice.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from core import datastore
from core.errors import BatonError, LimitExceeded
from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration

store = Integration(
    id="store",
    name="Store",
    description="Keep values between runs: keys with a TTL, counters, and only the items not seen before",
    icon="/static/icons/store.svg",
    category="developer",
    auth_type=AuthType.NONE,
)

store.example = """
Each workspace has a data store: JSON values under keys, optionally expiring (`ttlSeconds`), shared by its
workflows and readable through the API (`/api/v1/workspaces/{id}/data-store`). Keep only the feed items a
workflow has not handled yet, count them, and remember when it last ran:

```json
[{"id": "fetch", "type": "action", "action": "http.request",
  "input": {"url": "https://api.example.com/orders"}},
 {"id": "fresh", "type": "action", "action": "store.only_new",
  "input": {"items": "{{ steps.fetch.output.body.orders }}", "keyPath": "id", "ttlSeconds": 7776000}},
 {"id": "count", "type": "action", "action": "store.incr",
  "input": {"key": "orders:seen", "by": "{{ steps.fresh.output.newCount }}"}},
 {"id": "mark", "type": "action", "action": "store.set",
  "input": {"key": "orders:lastRun",
            "value": {"at": "{{ execution.startedAt }}", "total": "{{ steps.count.output.value }}"}}}]
```

`store.only_new` remembers what it saw per workflow (`scope: "workspace"` shares it between workflows) and
answers, of the items it is given, those it had not seen; two runs given the same new item at once: only one
of them gets it. `store.incr` adds atomically (50 runs incrementing at once count 50); its `ttlSeconds`
applies when it creates the key, so a counter per window keeps its window. A value is at most 256 KiB of
JSON; a workspace holds as many keys and bytes as its plan allows.
"""


class GetInput(BaseModel):
    key: str = Field(min_length=1, max_length=datastore.MAX_KEY_LENGTH, description="The key to read")
    default: Any = Field(default=None, description="The value answered when the key is absent or expired")


class GetOutput(BaseModel):
    found: bool
    value: Any = None
    expiresAt: str | None = None  # noqa: N815


class SetInput(BaseModel):
    key: str = Field(min_length=1, max_length=datastore.MAX_KEY_LENGTH, description="The key to write")
    value: Any = Field(description="Any JSON value (at most 256 KiB)")
    ttlSeconds: float | None = Field(  # noqa: N815
        default=None, gt=0, description="Forget the value after this many seconds (default: never)"
    )
    ifAbsent: bool = Field(  # noqa: N815
        default=False, description="Write only when the key has no value yet (the stored one is answered)"
    )


class EntryOutput(BaseModel):
    key: str
    value: Any = None
    written: bool = True
    version: int
    expiresAt: str | None = None  # noqa: N815


class DeleteInput(BaseModel):
    key: str = Field(min_length=1, max_length=datastore.MAX_KEY_LENGTH, description="The key to remove")


class DeleteOutput(BaseModel):
    deleted: bool


class IncrInput(BaseModel):
    key: str = Field(min_length=1, max_length=datastore.MAX_KEY_LENGTH, description="The counter's key")
    by: int | float = Field(default=1, description="What to add (negative to subtract)")
    ttlSeconds: float | None = Field(  # noqa: N815
        default=None, gt=0, description="When this creates the counter: forget it after this many seconds"
    )


class OnlyNewInput(BaseModel):
    items: list[Any] = Field(
        max_length=datastore.MAX_SEEN_ITEMS, description="The items, e.g. a feed's or an API's list"
    )
    keyPath: str = Field(  # noqa: N815
        default="id",
        description="The dotted path of each item's identity (`id`, `user.email`); empty: the item itself",
    )
    scope: Literal["workflow", "workspace"] = Field(
        default="workflow", description="Remember per workflow, or share what was seen by the workspace"
    )
    ttlSeconds: float | None = Field(  # noqa: N815
        default=None, gt=0, description="Forget a seen item after this many seconds (default: never)"
    )


class OnlyNewOutput(BaseModel):
    items: list[Any]
    newCount: int  # noqa: N815
    seenCount: int  # noqa: N815


def _failure(error: BatonError) -> ActionError:
    where = f" ({error.path})" if error.path else ""
    kind = "LimitExceeded" if isinstance(error, LimitExceeded) else "InvalidInput"
    return ActionError(f"store: {error.detail}{where}", type=kind, retryable=False)


def _scope(ctx: ActionContext) -> tuple[Any, str]:
    if ctx.database is None or not ctx.workspace_id:
        raise ActionError(
            "store actions work on the data store of the run's workspace, so they run only as a run's step",
            type="InvalidInput",
            retryable=False,
        )
    return ctx.database, ctx.workspace_id


def _iso(entry: datastore.Entry) -> str | None:
    return entry.expires_at.isoformat() if entry.expires_at else None


@store.action("get", name="Get a Value", description="Reads a key of the data store", side_effects=False)
async def get_value(data: GetInput, ctx: ActionContext) -> GetOutput:
    database, workspace_id = _scope(ctx)
    async with database.connect() as conn:
        entry = await datastore.get(conn, workspace_id, data.key)
    if entry is None:
        return GetOutput(found=False, value=data.default)
    return GetOutput(found=True, value=entry.value, expiresAt=_iso(entry))


@store.action("set", name="Set a Value", description="Writes a key of the data store")
async def set_value(data: SetInput, ctx: ActionContext) -> EntryOutput:
    database, workspace_id = _scope(ctx)
    try:
        async with database.begin() as conn:
            entry, written = await datastore.put(
                conn,
                workspace_id,
                data.key,
                data.value,
                ttl_seconds=data.ttlSeconds,
                if_absent=data.ifAbsent,
                operation=ctx.idempotency_key,
            )
    except BatonError as exc:
        raise _failure(exc) from exc
    return EntryOutput(
        key=entry.key, value=entry.value, written=written, version=entry.version, expiresAt=_iso(entry)
    )


@store.action("delete", name="Delete a Value", description="Removes a key of the data store")
async def delete_value(data: DeleteInput, ctx: ActionContext) -> DeleteOutput:
    database, workspace_id = _scope(ctx)
    async with database.begin() as conn:
        return DeleteOutput(deleted=await datastore.delete(conn, workspace_id, data.key))


@store.action(
    "incr", name="Increment a Counter", description="Adds to a number of the data store, atomically"
)
async def increment(data: IncrInput, ctx: ActionContext) -> EntryOutput:
    database, workspace_id = _scope(ctx)
    try:
        async with database.begin() as conn:
            entry = await datastore.increment(
                conn,
                workspace_id,
                data.key,
                data.by,
                ttl_seconds=data.ttlSeconds,
                operation=ctx.idempotency_key,
            )
    except BatonError as exc:
        raise _failure(exc) from exc
    return EntryOutput(key=entry.key, value=entry.value, version=entry.version, expiresAt=_iso(entry))


def item_key(item: Any, path: str, index: int) -> str:
    """The identity of an item: the value at `path` (a string as is, anything else as its JSON)."""
    value = item
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ActionError(
                f"store.only_new: items[{index}] has no `{path}` (set keyPath to the field that identifies "
                "an item)",
                type="InvalidInput",
                retryable=False,
            )
    if value is None:
        raise ActionError(
            f"store.only_new: items[{index}].{path} is null", type="InvalidInput", retryable=False
        )
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


@store.action(
    "only_new",
    name="Only New Items",
    description="Removes the items seen before (by this workflow), remembering the new ones",
)
async def only_new(data: OnlyNewInput, ctx: ActionContext) -> OnlyNewOutput:
    database, workspace_id = _scope(ctx)
    keys = [item_key(item, data.keyPath, index) for index, item in enumerate(data.items)]
    try:
        async with database.begin() as conn:
            workflow_id = None
            if data.scope == "workflow":
                workflow_id = (
                    await datastore.workflow_of_execution(conn, workspace_id, ctx.execution_id)
                    if ctx.execution_id
                    else None
                )
                if workflow_id is None:
                    raise ActionError(
                        "store.only_new with scope `workflow` runs only as a step of a workflow's run",
                        type="InvalidInput",
                        retryable=False,
                    )
            new = await datastore.mark_seen(
                conn,
                workspace_id,
                datastore.seen_namespace(workflow_id),
                keys,
                ttl_seconds=data.ttlSeconds,
                operation=ctx.idempotency_key,
            )
    except BatonError as exc:
        raise _failure(exc) from exc
    fresh, taken = [], set()
    for item, key in zip(data.items, keys, strict=True):
        if key in new and key not in taken:  # an item twice in one list counts once
            fresh.append(item)
            taken.add(key)
    return OnlyNewOutput(items=fresh, newCount=len(fresh), seenCount=len(data.items) - len(fresh))
