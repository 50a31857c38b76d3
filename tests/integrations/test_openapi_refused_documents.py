"""Bad OpenAPI documents are refused by the import with a 422 naming the JSON path of the mistake: a YAML
alias bomb, Swagger 2, broken YAML, a mistyped schema, a path parameter not declared, a dangling $ref
(the import itself: tests/integrations/test_openapi_import.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integrations.test_openapi_import import Operator, operator

__all__ = ["operator"]  # the fixture, used below by name

# YAML aliases nine deep, nine wide: a few hundred bytes that would expand to 387 million values
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
BAD_DOCUMENTS = [
    (LAUGHS, "document"),
    (
        {
            "openapi": "3.0.0",
            "info": {"title": "Shapeless", "version": "1"},
            "paths": {"/a": {"get": {"parameters": {"name": "x"}, "responses": {}}}},
        },
        'paths["/a"].get.parameters',
    ),
    ("swagger: '2.0'\ninfo: {title: Old, version: '1'}\npaths: {}", "openapi"),
    ("openapi: 3.0.0\ninfo: {title: Broken, version: '1'}\npaths: [unclosed", "document"),
    (
        {
            "openapi": "3.0.0",
            "info": {"title": "Typo", "version": "1"},
            "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"Pet": {"properties": {"id": {"type": "int"}}}}},
        },
        "components.schemas.Pet.properties.id.type",
    ),
    (
        {
            "openapi": "3.0.0",
            "info": {"title": "Unnamed", "version": "1"},
            "paths": {"/pets/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}},
        },
        'paths["/pets/{id}"].get.parameters',
    ),
    (
        {
            "openapi": "3.0.0",
            "info": {"title": "Dangling", "version": "1"},
            "paths": {
                "/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}], "responses": {}}}
            },
        },
        'paths["/a"].get.parameters[0]["$ref"]',
    ),
]


@pytest.mark.parametrize(("text", "path"), BAD_DOCUMENTS)
async def test_a_bad_document_is_a_422_naming_its_json_path(
    operator: Operator, text: str | dict[str, Any], path: str
) -> None:
    answer = await operator.import_(text)
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"] == path, answer.json()
