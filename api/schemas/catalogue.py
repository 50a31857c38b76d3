"""Bodies of the catalogue endpoints (integrations, templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel, RequestBody
from core.models import AuthType, TriggerType


class IntegrationOut(ApiModel):
    id: str
    name: str
    description: str
    icon: str
    category: str
    auth_type: AuthType
    is_active: bool
    is_popular: bool
    docs_url: str | None
    website_url: str | None


class TriggerOut(ApiModel):
    id: str
    name: str
    description: str
    type: TriggerType
    config_schema: dict[str, Any]
    polling_interval: int | None
    is_active: bool


class ActionOut(ApiModel):
    id: str
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    is_active: bool


class IntegrationDetail(IntegrationOut):
    triggers: list[TriggerOut]
    actions: list[ActionOut]


class TemplateOut(ApiModel):
    id: str
    name: str
    description: str
    category: str
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    steps: list[Any]
    icon: str | None
    tags: list[str]
    is_popular: bool
    usage_count: int
    required_integrations: list[str]
    created_at: datetime
    updated_at: datetime


class ServiceImport(RequestBody):
    """An OpenAPI 3 document to import as an integration (POST /integrations/import)."""

    document: str | dict[str, Any] = Field(
        description="The OpenAPI 3.0/3.1 document: its YAML or JSON text, or the parsed object",
        examples=['openapi: "3.0.0"\ninfo: {title: Petstore, version: "1"}\npaths: {}'],
    )
    id: str | None = Field(
        default=None,
        description="The integration id its actions are named under (`petstore.find_pets`); default: from "
        "info.title",
        examples=["petstore"],
    )
    base_url: str | None = Field(
        default=None,
        description="Where the service is, overriding the document's first server (a connection's `baseUrl` "
        "and INTEGRATION_BASE_URLS override it in turn)",
        examples=["https://petstore.example.com/api"],
    )
