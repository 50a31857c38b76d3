"""The interactive docs (`/docs`: Swagger UI, `/redoc`: ReDoc), served from Baton's own install: their
scripts come from the `fastapi-offline` package's copy, so they render with no network (no CDN, no web
fonts). And the OpenAPI document they read: bearer auth declared (the Authorize button), the definition's
`steps` and `triggerConfig` typed with its JSON Schema, and examples on the bodies people write first."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from api.examples import EXAMPLES, STREAM_EXAMPLES
from core.definition.steps import TRIGGER_CONFIGS, definition_json_schema

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

# Public operations (no token): signing up and in, the webhook ingress, signed approval links, health.
PUBLIC_PREFIXES = (
    "/api/v1/auth/",
    "/hooks/",
    "/api/v1/approval-links/",
    "/api/v1/oauth/callback",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/definition-schema",
)
# The bodies that carry a definition (DEFINITION.md): their `steps` and `triggerConfig` get its schema.
DEFINITION_BODIES = ("WorkflowCreate", "WorkflowUpdate", "WorkflowOut", "VersionOut", "WorkflowExport")


def install_docs(app: FastAPI) -> None:
    """`/docs` and `/redoc` from local assets, and the OpenAPI document completed (see the module)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title="Baton API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # the token typed into Authorize survives a reload; requests show as curl commands
            swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=str(app.openapi_url),
            title="Baton API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            declare_bearer_auth(document)
            type_definitions(document)
            add_examples(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_bearer_auth(document: dict[str, Any]) -> None:
    """How to authenticate: a bearer token, a login access token or an API key, on every operation but
    the public ones."""
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A login access token (POST /api/v1/auth/login) or an API key (bat_..., "
            "POST /api/v1/me/api-keys)",
        }
    }
    for path, operations in document.get("paths", {}).items():
        if path.startswith(PUBLIC_PREFIXES):
            continue
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.setdefault("security", [{"bearer": []}])


def type_definitions(document: dict[str, Any]) -> None:
    """The definition's JSON Schema (GET /api/v1/definition-schema) in the document's components, and the
    bodies' untyped `steps` and `triggerConfig` pointed at it."""
    definition = definition_json_schema()
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definition.get("$defs", {}).items():
        schema = _components_refs(_nested_steps_untyped(schema))
        if name in schemas and not _same_model(schemas[name], schema):
            raise RuntimeError(f"the definition schema's {name} would replace the API's own")
        schemas[name] = schema
    schemas["NestedStep"] = NESTED_STEP
    for model in TRIGGER_CONFIGS.values():
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    steps = _components_refs(definition["properties"]["steps"])
    trigger_config = {
        "description": "Depends on triggerType: "
        + ", ".join(f"{kind.value} → {model.__name__}" for kind, model in TRIGGER_CONFIGS.items()),
        "anyOf": [{"$ref": f"#/components/schemas/{model.__name__}"} for model in TRIGGER_CONFIGS.values()],
    }
    for body in DEFINITION_BODIES:
        properties = schemas.get(body, {}).get("properties", {})
        for name, typed in (("steps", steps), ("triggerConfig", trigger_config)):
            if name in properties:
                nullable = "anyOf" in properties[name] and body == "WorkflowUpdate"
                kept = {k: v for k, v in properties[name].items() if k in ("title", "default")}
                properties[name] = {**kept, **copy.deepcopy(typed)}
                if nullable:
                    properties[name]["description"] = "Leave out to keep the current value"


def _same_model(api: dict[str, Any], definition: dict[str, Any]) -> bool:
    """Two schemas of one model (the API's may be its serialization's: no defaults, floats for bounds), not
    two models that happen to share a name."""
    return api == definition or (
        api.get("title") == definition.get("title")
        and api.get("description") == definition.get("description")
        and set(api.get("properties", {})) == set(definition.get("properties", {}))
    )


# Steps nested in steps (then, else, cases, loop steps, branches, notify, onError) are shown as this: ReDoc
# (and Swagger UI when expanding) never finish drawing a discriminated union that contains itself
# (Redocly/redoc#696, #2184). Their full schema is the top-level one; GET /api/v1/definition-schema has
# it all.
NESTED_STEP = {
    "type": "object",
    "title": "NestedStep",
    "description": "A step, of any type (the same shapes as the top-level `steps`)",
    "required": ["id", "type"],
    "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
    "additionalProperties": True,
}


def _nested_steps_untyped(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("discriminator", {}).get("propertyName") == "type":
            return {"$ref": "#/components/schemas/NestedStep"}
        return {key: _nested_steps_untyped(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_nested_steps_untyped(item) for item in schema]
    return schema


def _components_refs(schema: Any) -> Any:
    """`#/$defs/X` (a standalone JSON Schema) as `#/components/schemas/X` (inside an OpenAPI document)."""
    if isinstance(schema, dict):
        return {key: _components_refs(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_components_refs(item) for item in schema]
    if isinstance(schema, str) and schema.startswith("#/$defs/"):  # a $ref, or a discriminator's mapping
        return schema.replace("#/$defs/", "#/components/schemas/", 1)
    return schema


def add_examples(document: dict[str, Any]) -> None:
    """An example request and response on every operation EXAMPLES knows (api/examples.py)."""
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            stream = STREAM_EXAMPLES.get(f"{method.upper()} {path}")
            if stream is not None:
                answer = operation.get("responses", {}).get("200", {})
                answer.setdefault("content", {}).setdefault("text/event-stream", {})["example"] = stream
            example = EXAMPLES.get(f"{method.upper()} {path}")
            if example is None:
                continue
            request, status, response = example
            if request is not None:  # a body the route reads itself (a webhook's) gets one documented
                body = operation.setdefault("requestBody", {"required": False, "content": {}})
                body["content"].setdefault("application/json", {"schema": {}})["example"] = request
            answer = operation.get("responses", {}).get(str(status))
            if answer is not None and response is not None:
                answer.setdefault("content", {}).setdefault("application/json", {})["example"] = response
