"""An imported service (integrations.openapi.document's description) as an Integration: each operation an
action whose activity builds the request from the step's input (path, query and header parameters, the
body as JSON, a form or as is), authenticates it with the connection the way `http` connections do, and
sends it through the action context (so through the egress guard, with the services' errors classified as
for every integration).

A connection holds what an `http` connection holds (`type`: header, query, bearer, basic or oauth2) plus an
optional `baseUrl`; the header or query parameter name defaults to the document's apiKey scheme, so
`{"type": "header", "value": "..."}` is enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
from pydantic import Field, RootModel

from core.models import AuthType
from integrations.http import HttpAuth, RequestOutput, apply_auth, decode_body
from integrations.sdk import ActionContext, ActionError, ActionSpec, Integration, OAuth2

IMPORTED_CATEGORY = "imported"
IMPORTED_ICON = "/static/icons/http.svg"


class OperationInput(RootModel[dict[str, Any]]):
    """The step's input as given; checked against the operation's own JSON Schema when it runs."""


class ServiceAuth(HttpAuth):
    """An imported service's connection: an `http` connection's kinds, or none (a `baseUrl` alone)."""

    type: Any = Field(default=None, description="header, query, bearer, basic or oauth2; none: no auth")
    base_url: str | None = Field(default=None, alias="baseUrl", description="Overrides the document's server")


@dataclass
class OperationSpec(ActionSpec[OperationInput, RequestOutput]):
    """An action whose schemas are the document's (not a pydantic model's)."""

    operation: dict[str, Any] = field(default_factory=dict)

    def input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.operation["inputSchema"]
        return schema

    def output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.operation["outputSchema"]
        return schema


def auth_type_of(schemes: dict[str, dict[str, Any]]) -> AuthType:
    kinds = {s["connection"] for s in schemes.values()}
    if "oauth2" in kinds:
        return AuthType.OAUTH2
    if kinds & {"header", "query", "bearer", "cookie"}:
        return AuthType.API_KEY
    return AuthType.BASIC if "basic" in kinds else AuthType.NONE


def build_integration(service: dict[str, Any]) -> Integration:
    schemes: dict[str, dict[str, Any]] = service.get("securitySchemes") or {}
    integration = Integration(
        id=service["id"],
        name=service["name"],
        description=service["description"],
        icon=IMPORTED_ICON,
        category=IMPORTED_CATEGORY,
        auth_type=auth_type_of(schemes),
        base_url=service.get("baseUrl") or "",
        credentials_model=ServiceAuth,
    )
    code_flow = next((s for s in schemes.values() if s.get("authorizeUrl") and s.get("tokenUrl")), None)
    if code_flow is not None:
        integration.oauth2 = OAuth2(
            code_flow["authorizeUrl"], code_flow["tokenUrl"], tuple(code_flow["scopes"])
        )
    for operation in service["operations"]:
        spec = OperationSpec(
            integration.id,
            operation["key"],
            operation["name"],
            operation["description"],
            OperationInput,
            RequestOutput,
            _caller(operation, schemes),
            side_effects=not operation["readOnly"],
            operation=operation,
        )
        integration._add_action(spec)
    return integration


def _caller(operation: dict[str, Any], schemes: dict[str, dict[str, Any]]) -> Any:
    validator = jsonschema.Draft202012Validator(operation["inputSchema"])

    async def call(data: OperationInput, ctx: ActionContext) -> RequestOutput:
        values = data.root
        error = next(iter(sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))), None)
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise ActionError(
                f"invalid input{f' at {where.lstrip(chr(46))}' if where else ''}: {error.message}",
                type="InvalidInput",
                retryable=False,
            )
        if not ctx.url("").startswith(("http://", "https://")):
            raise ActionError(
                f"{ctx.service} has no absolute base URL (the document gives {ctx.base_url!r}): set the "
                "connection's `baseUrl` or INTEGRATION_BASE_URLS",
                type="InvalidInput",
                retryable=False,
            )
        path, query, headers = _request_parts(operation, values)
        auth_params: dict[str, str] = {}
        auth = apply_auth(_with_scheme_defaults(ctx.credentials, operation, schemes), headers, auth_params)
        body = operation.get("body")
        sent: dict[str, Any] = {}
        if body is not None and "body" in values:
            kind, content = body["kind"], values["body"]
            sent = (
                {"json": content}
                if kind == "json"
                else {"data": content}
                if kind == "form"
                else {"content": str(content)}
            )
            headers.setdefault("Content-Type", body["mediaType"])
        if ctx.idempotency_key and operation["method"] in {"POST", "PATCH"}:
            headers.setdefault("Idempotency-Key", ctx.idempotency_key)
        response = await ctx.request(
            operation["method"],
            path,
            params=httpx.QueryParams([*query, *auth_params.items()]),
            headers=headers,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            **sent,
        )
        return RequestOutput(
            status=response.status_code, headers=dict(response.headers), body=decode_body(response)
        )

    return call


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _request_parts(
    operation: dict[str, Any], values: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    path: str = operation["path"]
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for parameter in operation["parameters"]:
        if parameter["field"] not in values:
            continue
        value = values[parameter["field"]]
        name = parameter["name"]
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        elif parameter["in"] == "header":
            headers[name] = _text(value)
        elif isinstance(value, list):
            if parameter["explode"]:
                query += [(name, _text(v)) for v in value]
            else:
                query.append((name, ",".join(_text(v) for v in value)))
        elif isinstance(value, dict):
            query += [(k, _text(v)) for k, v in value.items()]  # form style, exploded
        else:
            query.append((name, _text(value)))
    return path, query, headers


def _with_scheme_defaults(
    credentials: dict[str, Any], operation: dict[str, Any], schemes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The connection's credentials, a header/query name filled in from the operation's apiKey scheme."""
    kind = credentials.get("type")
    if not credentials or (kind is None and "accessToken" not in credentials):
        return {}
    if kind in {"header", "query"} and not credentials.get("name"):
        accepted = operation["security"] or list(schemes)
        named = next((schemes[n]["name"] for n in accepted if schemes[n]["connection"] == kind), None)
        if named:
            return {**credentials, "name": named}
    return credentials
