"""Baton's own table for services imported from OpenAPI documents (core.imported_services)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from core.models.columns import created_at_col, json_col, text_col, text_pk, updated_at_col

__all__ = ["ImportedService"]


class ImportedService(SQLModel, table=True):
    """One imported service: `description` is what integrations.openapi.document read from the document
    (operations, schemas, security schemes, base URL); its catalogue rows (integrations, actions) are
    written beside it, and API and worker processes build its integration from it when they start."""

    __tablename__ = "imported_services"

    id: str = text_pk()  # the integration id its actions are named under (`petstore.find_pets`)
    description: dict[str, Any] = json_col()
    source_sha256: str = text_col()
    imported_by: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()
