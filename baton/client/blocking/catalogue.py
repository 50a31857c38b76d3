"""The blocking Catalogue: generated from baton/client/resources/catalogue.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from typing import Any

from api.schemas.base import Page
from api.schemas.catalogue import IntegrationDetail, IntegrationOut, TemplateOut
from api.schemas.workflows import WorkflowOut
from baton.client.portal import Blocking
from baton.client.resources import catalogue as aio


class Catalogue(Blocking[aio.Catalogue]):
    def integrations(
        self,
        *,
        category: str | None = None,
        popular: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[IntegrationOut]:
        return self._portal.run(
            self._inner.integrations(
                category=category,
                popular=popular,
                limit=limit,
                cursor=cursor,
            )
        )

    def integration(self, integration_id: str) -> IntegrationDetail:
        """An integration with its triggers and actions, and their input JSON Schemas."""
        return self._portal.run(self._inner.integration(integration_id))

    def templates(self, *, limit: int | None = None, cursor: str | None = None) -> Page[TemplateOut]:
        return self._portal.run(self._inner.templates(limit=limit, cursor=cursor))

    def template(self, template_id: str) -> TemplateOut:
        return self._portal.run(self._inner.template(template_id))

    def use_template(self, /, workspace_id: str, template_id: str, **body: Any) -> WorkflowOut:
        """A new workflow from a template (`connectionMap` and `name` may be given in `body`)."""
        return self._portal.run(self._inner.use_template(workspace_id, template_id, **body))

    def definition_schema(self) -> dict[str, Any]:
        """The JSON Schema of a workflow definition."""
        return self._portal.run(self._inner.definition_schema())
