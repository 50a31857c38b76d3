"""The audit trail: who changed what, when, from where; secrets scrubbed from every recorded value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import AuditLog
from core.paging import newest_first

SECRET_FIELDS = frozenset({
    "password", "password_hash", "passwordhash", "credentials", "token", "access_token", "accesstoken",
    "refresh_token", "refreshtoken", "secret", "key", "api_key", "apikey", "authorization", "client_secret",
})  # fmt: skip
REDACTED = "[redacted]"


def scrub(value: Any) -> Any:
    """A copy of `value` with every secret-named field's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_FIELDS else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields that changed, as {"before": {...}, "after": {...}} (secrets scrubbed)."""
    if before is None and after is None:
        return None
    if before is None or after is None:
        return {"before": scrub(before), "after": scrub(after)}
    changed = sorted(
        k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != "updated_at"
    )
    return {
        "before": scrub({k: before.get(k) for k in changed}),
        "after": scrub({k: after.get(k) for k in changed}),
    }


async def record(
    session: AsyncSession,
    *,
    action: str,
    entity_type: str,
    entity_id: str | None,
    user_id: str | None,
    workspace_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> AuditLog:
    entry = AuditLog(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        user_id=user_id,
        workspace_id=workspace_id,
        changes=diff(before, after),
        metadata_=scrub(metadata) if metadata else None,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:500] or None,
    )
    session.add(entry)
    return entry


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    *,
    limit: int,
    cursor: tuple[datetime, str] | None = None,
    entity_type: str | None = None,
    action: str | None = None,
    user_id: str | None = None,
) -> list[AuditLog]:
    """Newest first (the seed's `idx_audit_workspace_created`)."""
    query = select(AuditLog).where(AuditLog.workspace_id == workspace_id)
    if entity_type is not None:
        query = query.where(AuditLog.entity_type == entity_type)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    query = newest_first(query, AuditLog.created_at, AuditLog.id, cursor, limit)
    return list((await session.exec(query)).all())
