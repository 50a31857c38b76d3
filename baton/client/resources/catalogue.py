"""The catalogue: integrations with their actions and triggers, templates, the definition's JSON Schema."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from typing import Any

from api.schemas.base import Page
from api.schemas.catalogue import IntegrationDetail, IntegrationOut, TemplateOut
from api.schemas.workflows import WorkflowOut
from baton.client.endpoints import API, JSON, RAW, WS, Resource, endpoint


class Catalogue(Resource):
    @endpoint(
        "GET", API + "/integrations", Page[IntegrationOut], query=("category", "popular", "limit", "cursor")
    )
    async def integrations(
        self,
        *,
        category: str | None = None,
        popular: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[IntegrationOut]: ...

    @endpoint("GET", API + "/integrations/{integration_id}", IntegrationDetail)
    async def integration(self, integration_id: str) -> IntegrationDetail:
        """An integration with its triggers and actions, and their input JSON Schemas."""

    @endpoint("GET", API + "/templates", Page[TemplateOut], query=("limit", "cursor"))
    async def templates(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[TemplateOut]: ...

    @endpoint("GET", API + "/templates/{template_id}", TemplateOut)
    async def template(self, template_id: str) -> TemplateOut: ...

    @endpoint("POST", WS + "/templates/{template_id}/use", WorkflowOut, body=RAW)
    async def use_template(self, /, workspace_id: str, template_id: str, **body: Any) -> WorkflowOut:
        """A new workflow from a template (`connectionMap` and `name` may be given in `body`)."""

    @endpoint("GET", API + "/definition-schema", JSON)
    async def definition_schema(self) -> dict[str, Any]:
        """The JSON Schema of a workflow definition."""
