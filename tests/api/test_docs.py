"""The interactive docs: they render with no network, show every endpoint and the Authorize button, and the
document they read types the definition and carries examples that match its own schemas."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from api.examples import EXAMPLES
from core.settings import Settings
from tests.api.conftest import served_api
from tests.browser import chromium_path, headless_page


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


async def test_every_example_matches_its_operation(api_client: httpx.AsyncClient) -> None:
    document = (await api_client.get("/openapi.json")).json()
    assert len(EXAMPLES) >= 20
    for key, (request, status, response) in EXAMPLES.items():
        method, path = key.split(" ", 1)
        operation = document["paths"][path][method.lower()]  # a renamed route fails here
        if request is not None:
            content = operation["requestBody"]["content"]["application/json"]
            assert content["example"] == request
            errors = [e.message for e in _validator(document, content["schema"]).iter_errors(request)]
            assert not errors, f"{key}: the example request does not fit its schema: {errors}"
        answer = operation["responses"][str(status)]  # the documented success status
        if response is not None:
            content = answer["content"]["application/json"]
            errors = [e.message for e in _validator(document, content["schema"]).iter_errors(response)]
            assert not errors, f"{key}: the example answer does not fit its schema: {errors}"


# What has no JSON example, and why
NO_EXAMPLE = {
    "GET /metrics": "Prometheus text",
    "GET /api/v1/definition-schema": "the answer is a JSON Schema, shown by the endpoint itself",
    "GET /api/v1/workspaces/{workspace_id}/connections/oauth/{integration_id}/authorize": "a redirect",
    "GET /api/v1/workspaces/{workspace_id}/connections/oauth/providers/{provider_id}/authorize": "a redirect",
}


async def test_every_endpoint_has_an_example(api_client: httpx.AsyncClient) -> None:
    document = (await api_client.get("/openapi.json")).json()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path}"
            answers = [a for code, a in operation["responses"].items() if code.startswith("2")]
            bodies = [c for a in answers for c in a.get("content", {}).values()]
            if key in NO_EXAMPLE or all(code == "204" for code in operation["responses"] if code[0] == "2"):
                continue
            if not any("example" in body for body in bodies):
                missing.append(key)
    assert missing == [], f"operations without an example answer: {missing}"


async def test_the_definition_is_typed_in_the_document(api_client: httpx.AsyncClient) -> None:
    document = (await api_client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    steps = schemas["WorkflowCreate"]["properties"]["steps"]
    assert steps["items"]["discriminator"]["propertyName"] == "type"
    assert steps["items"]["discriminator"]["mapping"]["action"] == "#/components/schemas/ActionStep"
    assert "ApprovalStep" in schemas
    assert "WebhookTriggerConfig" in schemas
    config = schemas["WorkflowCreate"]["properties"]["triggerConfig"]
    assert {"$ref": "#/components/schemas/ScheduleTriggerConfig"} in config["anyOf"]
    # a bad step is refused by the document's own schema, as by the server
    validator = _validator(document, schemas["WorkflowCreate"])
    bad = {"name": "x", "triggerType": "MANUAL", "steps": [{"id": "a", "type": "delay", "seconds": "x",
                                                              "retry": {"maxAttempts": 0}}]}  # fmt: skip
    assert list(validator.iter_errors(bad))
    assert not list(validator.iter_errors(EXAMPLES["POST /api/v1/workspaces/{workspace_id}/workflows"][0]))
    unresolved = [ref for ref in _refs(document) if ref.startswith("#/$defs/")]
    assert not unresolved


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return [value] if isinstance(value, str) and value.startswith("#/") else []


@pytest.fixture
def browser_available() -> None:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (apt install chromium; .ci/run installs it)")


@pytest.mark.usefixtures("browser_available")
async def test_docs_render_offline_with_the_endpoints_and_authorize(settings: Settings) -> None:
    async with served_api(settings) as api, headless_page(offline=True) as page:
        origin = str(api.base_url).rstrip("/")
        await page.open(f"{origin}/docs")
        operations = await page.wait_for("document.querySelectorAll('.opblock').length")
        assert operations >= 60  # every endpoint, not an error box
        assert await page.evaluate("!!document.querySelector('.btn.authorize')")
        text = await page.evaluate("document.body.innerText")
        assert "/api/v1/workspaces/{workspace_id}/workflows" in text
        outside = await page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
            f".filter(u => !u.startsWith({origin!r}))"
        )
        assert outside == []
        # Authorize takes a token: the dialog opens with the bearer field
        await page.evaluate("document.querySelector('.btn.authorize').click()")
        assert await page.wait_for("!!document.querySelector('.modal-ux input')")

        await page.open(f"{origin}/redoc")
        await page.wait_for("document.body.innerText.includes('Greet new signups')")
        assert "Register" in await page.evaluate("document.body.innerText")
