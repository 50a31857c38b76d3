"""Reading an OpenAPI 3 document (YAML or JSON) into a service description: what `baton integrations import`
stores and what the imported integration is built from (integrations.openapi.service).

Each operation becomes an action: its input schema has one property per parameter (path, query, header)
and `body` for the request body; its output is `{status, headers, body}`, `body` described by the first 2xx
response's JSON schema. Security schemes map to the connection kinds `http` connections have: an apiKey to
`header`/`query`, http bearer/basic to `bearer`/`basic`, oauth2 and OpenID Connect to `oauth2`. Everything
wrong with the document is a 422 naming its JSON path in the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from core.errors import InvalidDefinition
from integrations.openapi.schemas import References, checked, json_path

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_OPERATIONS = 500
MAX_EXPANDED_NODES = 1_000_000
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_PLACES = ("path", "query", "header")
SERVICE_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")
FORM_MEDIA = "application/x-www-form-urlencoded"


def parse_document(text: str | bytes) -> dict[str, Any]:
    """The document as data: JSON or YAML (a safe loader: no tags run code), bounded in size."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise InvalidDefinition(
            f"the document is larger than {MAX_DOCUMENT_BYTES // 1024} KiB", path="document"
        )
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except RecursionError:
        raise InvalidDefinition("the document nests too deeply", path="document") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise InvalidDefinition(f"the document is neither JSON nor YAML{where}", path="document") from None
    if not isinstance(data, dict):
        raise InvalidDefinition("the document must be an object (an OpenAPI document)", path="document")
    if _expanded_size(data, {}) > MAX_EXPANDED_NODES:  # YAML aliases repeat a part without its bytes
        raise InvalidDefinition(
            f"the document expands to more than {MAX_EXPANDED_NODES} values (YAML aliases?)", path="document"
        )
    # YAML keys may be numbers or dates (`200:` for a status): the rest reads them as JSON would
    try:
        normalized: dict[str, Any] = json.loads(json.dumps(data, default=str))
    except (RecursionError, ValueError):  # nested past any real document, or an alias cycle
        raise InvalidDefinition("the document nests too deeply", path="document") from None
    return normalized


def _expanded_size(node: Any, seen: dict[int, int]) -> int:
    """How many values the document holds once its aliases are written out (shared parts counted once
    each, so this stays cheap where the expansion would not)."""
    if not isinstance(node, dict | list):
        return 1
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = MAX_EXPANDED_NODES + 1  # an alias cycle is too large
    children = node.values() if isinstance(node, dict) else node
    size = 1
    for child in children:
        size += _expanded_size(child, seen)
        if size > MAX_EXPANDED_NODES:
            break
    seen[id(node)] = size
    return size


def service_id_from(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    text = "_".join(words)[:40].strip("_")
    if len(text) < 2 or not text[0].isalpha():
        text = f"api_{text}".strip("_")
    return text


def action_key(operation: dict[str, Any], method: str, path: str) -> str:
    """`findPets` -> `find_pets`, `list-data-sets` -> `list_data_sets`; `get_pets_id` without an id."""
    raw = operation.get("operationId")
    if not isinstance(raw, str) or not raw.strip():
        raw = f"{method} {path}"
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", raw)
    key = "_".join(re.findall(r"[a-z0-9]+", snake.lower()))
    return key if key and key[0].isalpha() else f"op_{key}"


def read_service(document: dict[str, Any], *, service_id: str | None = None) -> dict[str, Any]:
    """The service description of an OpenAPI 3 document; InvalidDefinition naming the JSON path of the
    first thing wrong. A part whose shape is not the one OpenAPI gives it (a list where an object goes)
    is named by the part being read when it tripped the reading."""
    at: list[list[str | int]] = [[]]
    try:
        return _read_service(document, service_id, at)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError, RecursionError) as exc:
        raise InvalidDefinition(
            f"this part of the document does not have the shape OpenAPI gives it ({type(exc).__name__})",
            path=json_path(at[0]) or "document",
        ) from None


def _read_service(
    document: dict[str, Any], service_id: str | None, at: list[list[str | int]]
) -> dict[str, Any]:
    version = document.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
        raise InvalidDefinition(
            "not an OpenAPI 3.0 or 3.1 document (Swagger 2.0 documents can be converted first)",
            path="openapi",
        )
    info = document.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or not info["title"].strip():
        raise InvalidDefinition("the document needs info.title", path="info.title")
    sid = service_id or service_id_from(info["title"])
    if not SERVICE_ID.match(sid):
        raise InvalidDefinition(
            "an integration id is 2 to 40 of a-z, 0-9 and _ , starting with a letter",
            path="id" if service_id else "info.title",
        )
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise InvalidDefinition("the document has no operations under `paths`", path="paths")
    references = References(document)
    components = document.get("components") or {}
    for name, schema in ((components.get("schemas") or {}) if isinstance(components, dict) else {}).items():
        where: list[str | int] = ["components", "schemas", name]
        at[0] = where
        checked(_as_schema(references.schema(schema, where)), where)
    at[0] = ["components", "securitySchemes"]
    schemes = _security_schemes(components, references)
    at[0] = ["security"]
    default_security = _requirement(document.get("security"), ["security"], schemes)
    operations: list[dict[str, Any]] = []
    keys: dict[str, str] = {}
    for path, item in paths.items():
        at[0] = ["paths", path]
        item, item_where = references.resolve(item, ["paths", path])
        if not isinstance(item, dict):
            raise InvalidDefinition("a path item must be an object", path=json_path(item_where))
        shared = item.get("parameters") or []
        for method in METHODS:
            if method not in item:
                continue
            where = at[0] = [*item_where, method]
            operation = item[method]
            if not isinstance(operation, dict):
                raise InvalidDefinition("an operation must be an object", path=json_path(where))
            key = action_key(operation, method, path)
            if key in keys:
                raise InvalidDefinition(
                    f"two operations give the action name {key!r} (the other is {keys[key]})",
                    path=json_path([*where, "operationId"]),
                )
            keys[key] = json_path(where)
            security = (
                _requirement(operation["security"], [*where, "security"], schemes)
                if "security" in operation
                else default_security
            )
            operations.append(
                _operation(references, operation, where, key, method, path, shared, item_where, security)
            )
            if len(operations) > MAX_OPERATIONS:
                raise InvalidDefinition(f"more than {MAX_OPERATIONS} operations", path="paths")
    at[0] = ["servers"]
    return {
        "id": sid,
        "name": info["title"].strip()[:200],
        "description": str(info.get("description") or info.get("summary") or info["title"]).strip()[:2000],
        "version": str(info.get("version") or ""),
        "baseUrl": _base_url(document.get("servers")),
        "securitySchemes": schemes,
        "operations": operations,
    }


def _as_schema(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _base_url(servers: Any) -> str:
    """The first server's URL with its variables at their defaults ("" when there is none: a setting or
    the connection's `baseUrl` gives it)."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url") or "")
    for name, variable in (servers[0].get("variables") or {}).items():
        if isinstance(variable, dict) and "default" in variable:
            url = url.replace("{" + name + "}", str(variable["default"]))
    return url.rstrip("/")


def _security_schemes(components: Any, references: References) -> dict[str, dict[str, Any]]:
    raw = components.get("securitySchemes") if isinstance(components, dict) else None
    schemes: dict[str, dict[str, Any]] = {}
    for name, scheme in (raw or {}).items():
        scheme, where = references.resolve(scheme, ["components", "securitySchemes", name])
        kind = scheme.get("type") if isinstance(scheme, dict) else None
        if kind == "apiKey":
            place = scheme.get("in")
            if (
                not isinstance(place, str)
                or place not in {"header", "query", "cookie"}
                or not isinstance(scheme.get("name"), str)
            ):
                raise InvalidDefinition(
                    "an apiKey scheme needs `name` and `in` (header, query or cookie)", path=json_path(where)
                )
            schemes[name] = {"connection": place, "name": scheme["name"]}
        elif kind == "http":
            http_scheme = str(scheme.get("scheme") or "").lower()
            if http_scheme not in {"bearer", "basic"}:
                raise InvalidDefinition(
                    f"http scheme {http_scheme!r} is not supported (bearer and basic are)",
                    path=json_path([*where, "scheme"]),
                )
            schemes[name] = {"connection": http_scheme}
        elif kind == "oauth2":
            flows = scheme.get("flows") if isinstance(scheme.get("flows"), dict) else {}
            entry: dict[str, Any] = {"connection": "oauth2", "flows": sorted(flows)}
            for flow in ("authorizationCode", "clientCredentials"):
                if isinstance(flows.get(flow), dict):
                    entry.setdefault("tokenUrl", flows[flow].get("tokenUrl"))
                    entry.setdefault("authorizeUrl", flows[flow].get("authorizationUrl"))
                    entry.setdefault("scopes", sorted(flows[flow].get("scopes") or {}))
            schemes[name] = {k: v for k, v in entry.items() if v is not None}
        elif kind == "openIdConnect":
            schemes[name] = {"connection": "oauth2", "openIdConnectUrl": scheme.get("openIdConnectUrl")}
        else:
            raise InvalidDefinition(
                f"unknown security scheme type {kind!r}", path=json_path([*where, "type"])
            )
    return schemes


def _requirement(raw: Any, where: list[str | int], schemes: dict[str, Any]) -> list[str]:
    """The scheme names an operation accepts (any one of them), in the document's order."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidDefinition("security must be a list of requirements", path=json_path(where))
    names: list[str] = []
    for index, requirement in enumerate(raw):
        if not isinstance(requirement, dict):
            raise InvalidDefinition("a security requirement is an object", path=json_path([*where, index]))
        for name in requirement:
            if name not in schemes:
                raise InvalidDefinition(
                    f"no security scheme {name!r} in components.securitySchemes",
                    path=json_path([*where, index, name]),
                )
            if name not in names:
                names.append(name)
    return names


def _operation(
    references: References,
    operation: dict[str, Any],
    where: list[str | int],
    key: str,
    method: str,
    path: str,
    shared: Any,
    item_where: list[str | int],
    security: list[str],
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    parameters: list[dict[str, Any]] = []
    own = operation.get("parameters") or []
    if not isinstance(own, list) or not isinstance(shared, list):
        raise InvalidDefinition("parameters must be a list", path=json_path([*where, "parameters"]))
    # an operation's own parameter replaces the path item's of the same name and place
    merged: dict[tuple[str, str], tuple[Any, list[str | int]]] = {}
    for source, base in ((shared, [*item_where, "parameters"]), (own, [*where, "parameters"])):
        for index, raw in enumerate(source):
            parameter, at = references.resolve(raw, [*base, index])
            if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                raise InvalidDefinition("a parameter needs a `name`", path=json_path(at))
            if parameter.get("in") not in (*PARAMETER_PLACES, "cookie"):
                raise InvalidDefinition(
                    "a parameter's `in` is path, query, header or cookie", path=json_path([*at, "in"])
                )
            merged[(parameter["name"], parameter["in"])] = (parameter, at)
    for (name, place), (parameter, at) in merged.items():
        if place == "cookie":
            continue  # not sent by Baton's actions (a header connection can carry a Cookie)
        field = name if name not in properties and name != "body" else f"{place}_{name}"
        schema = parameter.get("schema")
        if schema is None and isinstance(parameter.get("content"), dict) and parameter["content"]:
            schema = next(iter(parameter["content"].values())).get("schema")
        converted = _as_schema(references.schema(schema or {}, [*at, "schema"]))
        if parameter.get("description") and "description" not in converted:
            converted = {**converted, "description": str(parameter["description"])}
        properties[field] = checked(converted, [*at, "schema"])
        if parameter.get("required") or place == "path":
            required.append(field)
        parameters.append(
            {
                "name": name,
                "in": place,
                "field": field,
                "explode": bool(parameter.get("explode", parameter.get("style", "form") == "form")),
            }
        )
    for name in re.findall(r"{([^}]+)}", path):
        if not any(p["in"] == "path" and p["name"] == name for p in parameters):
            raise InvalidDefinition(
                f"the path names {{{name}}} but no path parameter describes it",
                path=json_path([*where, "parameters"]),
            )
    body = _request_body(references, operation, where)
    if body is not None:
        properties["body"] = body.pop("schema")
        if body["required"]:
            required.append("body")
    input_schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **({"required": required} if required else {}),
    }
    summary = operation.get("summary") or operation.get("description") or f"{method.upper()} {path}"
    return {
        "key": key,
        "name": str(summary).strip().split("\n")[0][:200],
        "description": str(operation.get("description") or summary).strip()[:2000],
        "method": method.upper(),
        "path": path,
        "parameters": parameters,
        "body": body,
        "security": security,
        "inputSchema": input_schema,
        "outputSchema": _output_schema(references, operation, where),
        "readOnly": method in {"get", "head", "options"},
    }


def _pick_media(content: dict[str, Any]) -> str:
    types = list(content)
    for media in types:
        if JSON_MEDIA.match(media.split(";")[0].strip().lower()):
            return media
    if FORM_MEDIA in types:
        return FORM_MEDIA
    return types[0]


def _request_body(
    references: References, operation: dict[str, Any], where: list[str | int]
) -> dict[str, Any] | None:
    if "requestBody" not in operation:
        return None
    body, at = references.resolve(operation["requestBody"], [*where, "requestBody"])
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, dict) or not content:
        raise InvalidDefinition("a request body needs `content`", path=json_path([*at, "content"]))
    media = _pick_media(content)
    media_where = [*at, "content", media]
    raw = content[media].get("schema") if isinstance(content[media], dict) else None
    schema = _as_schema(references.schema(raw or {}, [*media_where, "schema"]))
    kind = "json" if JSON_MEDIA.match(media.lower()) else "form" if media == FORM_MEDIA else "raw"
    if kind == "raw":
        schema = {"type": "string", "description": f"sent as is, as {media}"}
    if body.get("description") and "description" not in schema:
        schema = {**schema, "description": str(body["description"])}
    return {
        "mediaType": media,
        "kind": kind,
        "required": bool(body.get("required")),
        "schema": checked(schema, [*media_where, "schema"]),
    }


def _output_schema(
    references: References, operation: dict[str, Any], where: list[str | int]
) -> dict[str, Any]:
    responses = operation.get("responses") or {}  # optional since OpenAPI 3.1: the body is then any
    if not isinstance(responses, dict):
        raise InvalidDefinition("`responses` must be an object", path=json_path([*where, "responses"]))
    body: dict[str, Any] = {"description": "the answer's body (parsed JSON, else text)"}
    success = sorted(code for code in responses if str(code).startswith("2"))
    if success:
        response, at = references.resolve(responses[success[0]], [*where, "responses", success[0]])
        content = response.get("content") if isinstance(response, dict) else None
        if isinstance(content, dict) and content:
            media = _pick_media(content)
            raw = content[media].get("schema") if isinstance(content[media], dict) else None
            if raw is not None and JSON_MEDIA.match(media.lower()):
                media_where = [*at, "content", media, "schema"]
                body = checked(_as_schema(references.schema(raw, media_where)), media_where)
    return {
        "type": "object",
        "properties": {
            "status": {"type": "integer"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": body,
        },
        "required": ["status", "headers"],
    }
