"""OpenAPI schemas as the JSON Schemas Baton validates step inputs with (Draft 2020-12): local `$ref`s
inlined within bounds, OpenAPI 3.0's own keywords (`nullable`) translated, documentation-only ones dropped.

A reference cycle (a tree node pointing at its own type) stops at `MAX_REF_DEPTH` nested references with an
open schema (`{}`: anything); a document whose schemas expand past `MAX_SCHEMA_NODES` is refused (a small
document can describe an exponentially large one). Schemas are checked with `jsonschema`'s meta-schema.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from core.errors import InvalidDefinition

MAX_REF_DEPTH = 8
MAX_SCHEMA_NODES = 50_000
# Keywords of OpenAPI's schema object that say nothing about what is valid (or that JSON Schema spells
# otherwise); left out so the validator does not trip over them.
DOCUMENTATION_ONLY = frozenset({"example", "xml", "externalDocs", "discriminator", "nullable"})


def json_path(parts: list[str | int]) -> str:
    """`paths["/pets"].get.parameters[0]`: a location in the document, as errors name it."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace("_", "a").isalnum() and not part[:1].isdigit():
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


class References:
    """Resolves local references (`#/components/...`) of one document, counting the nodes it writes."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document
        self.nodes = 0

    def target(self, reference: Any, where: list[str | int]) -> tuple[Any, list[str | int]]:
        """What `reference` points at, and its own location."""
        if not isinstance(reference, str) or not reference.startswith("#/"):
            raise InvalidDefinition(
                f"only references inside the document (#/...) are supported, not {reference!r}",
                path=json_path([*where, "$ref"]),
            )
        node: Any = self._document
        location: list[str | int] = []
        for raw in reference[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                location.append(int(part))
            elif isinstance(node, dict) and part in node:
                node = node[part]
                location.append(part)
            else:
                raise InvalidDefinition(
                    f"the reference {reference!r} points at nothing in the document",
                    path=json_path([*where, "$ref"]),
                )
        return node, location

    def resolve(self, node: Any, where: list[str | int]) -> tuple[Any, list[str | int]]:
        """A parameter, body or response object, with its own `$ref` chain followed."""
        for _ in range(MAX_REF_DEPTH):
            if not (isinstance(node, dict) and "$ref" in node):
                return node, where
            node, where = self.target(node["$ref"], where)
        raise InvalidDefinition("references nest too deeply", path=json_path(where))

    def schema(self, node: Any, where: list[str | int], trail: tuple[str, ...] = ()) -> Any:
        """`node` as a self-contained JSON Schema."""
        self.nodes += 1
        if self.nodes > MAX_SCHEMA_NODES:
            raise InvalidDefinition(
                f"the document's schemas expand past {MAX_SCHEMA_NODES} nodes once their references are "
                "inlined; split it or simplify the shared schemas",
                path=json_path(where),
            )
        if isinstance(node, list):
            return [self.schema(item, [*where, i], trail) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            reference = node["$ref"]
            if reference in trail or len(trail) >= MAX_REF_DEPTH:
                # a recursive type: deep enough; below it, anything goes
                return {"description": f"(a nested {str(reference).rsplit('/', 1)[-1]})"}
            target, location = self.target(reference, where)
            return self.schema(target, location, (*trail, str(reference)))
        converted: dict[str, Any] = {}
        for key, value in node.items():
            if key in DOCUMENTATION_ONLY or key.startswith("x-"):
                continue
            if key in {"properties", "patternProperties", "$defs", "definitions"} and isinstance(value, dict):
                converted[key] = {
                    name: self.schema(sub, [*where, key, name], trail) for name, sub in value.items()
                }
            elif key in {"enum", "const", "default", "examples", "required", "type"}:
                converted[key] = value
            else:
                converted[key] = self.schema(value, [*where, key], trail)
        if node.get("nullable") is True:
            kind = converted.get("type")
            if isinstance(kind, str):
                converted["type"] = [kind, "null"]
            elif isinstance(kind, list) and "null" not in kind:
                converted["type"] = [*kind, "null"]
            if isinstance(converted.get("enum"), list) and None not in converted["enum"]:
                converted["enum"] = [*converted["enum"], None]
        return converted


def checked(schema: dict[str, Any], where: list[str | int]) -> dict[str, Any]:
    """The schema, when it is one (`type: int` is not): else a 422 naming where it is wrong."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        inner = list(exc.absolute_path)
        raise InvalidDefinition(
            f"not a valid schema: {exc.message}", path=json_path([*where, *inner]) or None
        ) from None
    return schema
