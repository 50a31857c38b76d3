"""The workspace data store (state kept between runs): read by VIEWERs, written by MEMBERs."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.audit import AuditorDep
from api.deps import SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.datastore import DataStoreEntryOut, DataStoreIncrement, DataStorePut
from core import datastore
from core.errors import InvalidInput
from core.permissions import Permission

router = APIRouter(prefix="/workspaces/{workspace_id}/data-store", tags=["data store"])
ERRORS = error_responses(401, 403, 404, 422)
WRITE_ERRORS = ERRORS  # a limit passed is a 403 (limit_exceeded), like the plan limits

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "data:read"))]
Writer = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "data:write"))]


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("not a cursor: pass the `nextCursor` of the previous page", path="cursor") from exc


@router.get("", response_model=Page[DataStoreEntryOut], responses=ERRORS)
async def list_entries(
    access: Reader,
    session: SessionDep,
    prefix: Annotated[str, Query(max_length=datastore.MAX_KEY_LENGTH)] = "",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DataStoreEntryOut]:
    """The live keys whose name starts with `prefix`, in key order."""
    rows = await datastore.entries(
        await session.connection(), access.workspace.id, prefix=prefix, after=_after(cursor), limit=limit
    )
    items = [DataStoreEntryOut.model_validate(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=_cursor(rows[limit - 1].key) if len(rows) > limit else None)


@router.get("/{key:path}", response_model=DataStoreEntryOut, responses=ERRORS)
async def get_entry(key: str, access: Reader, session: SessionDep) -> DataStoreEntryOut:
    return DataStoreEntryOut.model_validate(
        await datastore.require(await session.connection(), access.workspace.id, key)
    )


@router.put("/{key:path}", response_model=DataStoreEntryOut, responses=WRITE_ERRORS)
async def put_entry(
    key: str, body: DataStorePut, access: Writer, session: SessionDep, auditor: AuditorDep, response: Response
) -> DataStoreEntryOut:
    """Sets the key (201 when it had no value). With `ifAbsent`, an existing value is kept and answered
    (200)."""
    conn = await session.connection()  # the request's transaction, with its audit entry
    before = await datastore.get(conn, access.workspace.id, key)
    entry, written = await datastore.put(
        conn,
        access.workspace.id,
        key,
        body.value,
        ttl_seconds=body.ttl_seconds,
        if_absent=body.if_absent,
    )
    if written:
        response.status_code = status.HTTP_200_OK if before is not None else status.HTTP_201_CREATED
        # the key, not the value: values may be large, and personal data belongs in the store, not the log
        await auditor.in_workspace(
            access,
            "data_store.set",
            "data_store_entry",
            key,
            metadata={"version": entry.version},
        )
    return DataStoreEntryOut.model_validate(entry)


@router.delete("/{key:path}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_entry(key: str, access: Writer, session: SessionDep, auditor: AuditorDep) -> Response:
    conn = await session.connection()
    await datastore.require(conn, access.workspace.id, key)
    await datastore.delete(conn, access.workspace.id, key)
    await auditor.in_workspace(access, "data_store.deleted", "data_store_entry", key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{key:path}/increment", response_model=DataStoreEntryOut, responses=WRITE_ERRORS)
async def increment_entry(
    key: str, body: DataStoreIncrement, access: Writer, session: SessionDep
) -> DataStoreEntryOut:
    """Adds `by` to the number under the key, atomically (an absent key counts from 0). Not audited: a
    counter may move on every call."""
    entry = await datastore.increment(
        await session.connection(), access.workspace.id, key, body.by, ttl_seconds=body.ttl_seconds
    )
    return DataStoreEntryOut.model_validate(entry)
