"""Column helpers that spell the seed's Prisma conventions once: uuid text ids, timestamptz, JSONB, arrays.

Prisma maps `String` to TEXT, `String[]` to TEXT[], `Json` to JSONB and `@default(uuid())` to a
client-side uuid; we keep those types and add server defaults so rows written by SQL alone are valid too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import ARRAY, DateTime, ForeignKey, Text, func, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def pg_enum(enum_cls: type[Enum], name: str) -> SAEnum:
    """A PostgreSQL enum type whose labels are the seed's spellings (`FREE`, `OWNER`...)."""
    return SAEnum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


def uuid_pk() -> Any:
    return Field(
        default_factory=new_id,
        primary_key=True,
        sa_type=Text,
        sa_column_kwargs={"server_default": text("gen_random_uuid()::text")},
    )


def text_pk() -> Any:
    """A natural text key such as `gmail` or `gmail.send_email`."""
    return Field(primary_key=True, sa_type=Text)


def text_col(*, nullable: bool = False, unique: bool = False, default: Any = ...) -> Any:
    if nullable and default is ...:
        default = None
    return Field(default=default, sa_type=Text, nullable=nullable, unique=unique)


def bool_col(default: bool) -> Any:
    return Field(
        default=default,
        nullable=False,
        sa_column_kwargs={"server_default": text("true" if default else "false")},
    )


def int_col(default: int | None = None, *, required: bool = False) -> Any:
    """An integer: with a default (NOT NULL), `required` (NOT NULL, no default) or else nullable."""
    if required:
        return Field(nullable=False)
    if default is None:
        return Field(default=None, nullable=True)
    return Field(default=default, nullable=False, sa_column_kwargs={"server_default": text(str(default))})


def enum_col(enum_cls: type[Enum], name: str, default: Enum | None = None) -> Any:
    kwargs: dict[str, Any] = {}
    if default is not None:
        kwargs["server_default"] = text(f"'{default.value}'")
    return Field(
        default=default if default is not None else ...,
        sa_type=pg_enum(enum_cls, name),
        nullable=False,
        sa_column_kwargs=kwargs,
    )


def json_col(*, nullable: bool = False, server_default: str | None = None) -> Any:
    kwargs: dict[str, Any] = {}
    if server_default is not None:
        kwargs["server_default"] = text(f"'{server_default}'::jsonb")
    if nullable:
        return Field(default=None, sa_type=JSONB, nullable=True, sa_column_kwargs=kwargs)
    if server_default is not None:
        return Field(default_factory=dict, sa_type=JSONB, nullable=False, sa_column_kwargs=kwargs)
    return Field(sa_type=JSONB, nullable=False, sa_column_kwargs=kwargs)


def text_array_col() -> Any:
    return Field(
        default_factory=list,
        sa_type=ARRAY(Text),
        nullable=False,
        sa_column_kwargs={"server_default": text("'{}'::text[]")},
    )


def timestamp_col(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


def created_at_col() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": func.now()},
    )


def updated_at_col() -> Any:
    """Prisma's `@updatedAt`: set by the ORM on update and by the `set_updated_at` trigger for raw SQL."""
    return Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": func.now(), "onupdate": func.now()},
    )


def fk_col(target: str, *, ondelete: str, nullable: bool = False) -> Any:
    """A foreign key with Prisma's referential actions (`ON UPDATE CASCADE`, delete as the seed says)."""
    return Field(
        default=None if nullable else ...,
        sa_type=Text,
        nullable=nullable,
        sa_column_args=[ForeignKey(target, ondelete=ondelete, onupdate="CASCADE")],
    )
