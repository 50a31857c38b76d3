"""The base every API body derives from: camelCase aliases, built from ORM rows; request bodies refuse the
fields they do not know (a typo such as `triggerConfg` would otherwise be dropped and the call answer 201)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class RequestBody(ApiModel):
    """What a caller sends: an unknown field is a 422 naming it (api.errors suggests the closest known
    name). Answers stay ApiModels, lenient, since they are built from rows that hold more than they show."""

    model_config = ConfigDict(extra="forbid")


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
