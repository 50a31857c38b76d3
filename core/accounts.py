"""Users, logins and API keys: the storage logic behind the auth endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, Unauthenticated
from core.models import ApiKey, User
from core.security import new_api_key, stored_api_key, verify_password

LAST_USED_RESOLUTION = timedelta(minutes=1)  # write `lastUsedAt` at most once a minute per key


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, with the API key's scopes when the call used one (None: a login token)."""

    user: User
    scopes: frozenset[str] | None = None
    api_key_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == normalize_email(email)))).first()


async def register_user(
    session: AsyncSession, *, email: str, password_hash: str, first: str, last: str
) -> User | None:
    """The new account, or None when the email has one already: the caller answers the same either way,
    so registration does not tell who has an account (the owner of the address is told instead)."""
    if await find_user_by_email(session, email) is not None:
        return None
    user = User(email=normalize_email(email), password_hash=password_hash, first_name=first, last_name=last)
    try:
        async with session.begin_nested():  # two registrations of one address at once: one wins
            session.add(user)
            await session.flush()
    except IntegrityError:
        return None
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await find_user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated("wrong email or password")
    if not user.is_active:
        raise Unauthenticated("this account is disabled")
    user.last_login_at = datetime.now(UTC)
    session.add(user)
    return user


async def active_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the account behind this token no longer exists or is disabled")
    return user


async def create_api_key(
    session: AsyncSession, user: User, *, name: str, scopes: list[str], expires_at: datetime | None
) -> tuple[ApiKey, str]:
    key, stored = new_api_key()
    api_key = ApiKey(
        user_id=user.id, name=name, key=stored, scopes=sorted(set(scopes)), expires_at=expires_at
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(session: AsyncSession, user: User) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.user_id == user.id).order_by(col(ApiKey.created_at).desc())
    return list((await session.exec(query)).all())


async def delete_api_key(session: AsyncSession, user: User, key_id: str) -> None:
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id:
        raise NotFound("no such API key")
    await session.delete(api_key)


async def principal_for_api_key(session: AsyncSession, presented: str) -> Principal:
    query = select(ApiKey).where(ApiKey.key == stored_api_key(presented))
    api_key = (await session.exec(query)).first()
    now = datetime.now(UTC)
    if api_key is None or not api_key.is_active:
        raise Unauthenticated("invalid or revoked API key")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise Unauthenticated("this API key has expired")
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        session.add(api_key)
    user = await active_user(session, api_key.user_id)
    return Principal(user, frozenset(api_key.scopes), api_key.id)
