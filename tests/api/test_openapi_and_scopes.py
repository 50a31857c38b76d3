"""The OpenAPI document covers every endpoint with its errors; API key scopes are enforced everywhere."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import sign_up
from tests.api.test_workflows import setup, workflow


async def test_every_endpoint_documents_its_error_responses(api_client: httpx.AsyncClient) -> None:
    document = (await api_client.get("/openapi.json")).json()
    undocumented = []
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/definition-schema":
            continue
        # no login: the signed link (an approval's, a run's resume URL) is the credential
        if path.startswith(("/api/v1/approval-links/", "/api/v1/resume/")):
            assert {"404", "409"} <= set(next(iter(operations.values()))["responses"]), path
            continue
        for method, operation in operations.items():
            errors = {code for code in operation["responses"] if code.startswith("4")}
            if "401" not in errors:
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == []
    error_schema = document["components"]["schemas"]["ErrorBody"]
    assert set(error_schema["properties"]) == {"error", "detail", "path"}


async def test_api_key_scopes_gate_each_resource(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client, "scopes@example.com")
    workflow_id = (await api_client.post(f"{base}/workflows", headers=headers, json=workflow())).json()["id"]
    checks: list[tuple[str, str, str, Any]] = [
        ("GET", f"{base}/workflows", "workflows:read", None),
        ("POST", f"{base}/workflows", "workflows:write", workflow()),
        ("GET", f"{base}/executions", "executions:read", None),
        ("POST", f"{base}/workflows/{workflow_id}/run?draft=true", "executions:write", {"payload": {}}),
        ("GET", f"{base}/connections", "connections:read", None),
        ("POST", f"{base}/connections", "connections:write", {"integrationId": "none", "name": "x"}),
        ("PATCH", base, "workspaces:admin", {"name": "Renamed"}),
    ]
    all_scopes = sorted({scope for _, _, scope, _ in checks})
    for method, url, scope, body in checks:
        others = [s for s in all_scopes if s != scope]
        without = (
            await api_client.post(
                "/api/v1/me/api-keys", headers=headers, json={"name": f"no {scope}", "scopes": others}
            )
        ).json()["key"]
        refused = await api_client.request(
            method, url, headers={"Authorization": f"Bearer {without}"}, json=body
        )
        assert refused.status_code == 403, f"{method} {url} without {scope}: {refused.status_code}"
        assert scope in refused.json()["detail"]
        with_scope = (
            await api_client.post(
                "/api/v1/me/api-keys", headers=headers, json={"name": scope, "scopes": [scope]}
            )
        ).json()["key"]
        allowed = await api_client.request(
            method, url, headers={"Authorization": f"Bearer {with_scope}"}, json=body
        )
        assert allowed.status_code != 403, f"{method} {url} with {scope}: {allowed.text}"


async def test_a_login_token_has_every_scope(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "token@example.com")
    assert (
        await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "T"})
    ).status_code == 201


async def test_the_document_declares_bearer_auth_on_all_but_the_public_operations(
    api_client: httpx.AsyncClient,
) -> None:
    document = (await api_client.get("/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    executions = document["paths"]["/api/v1/workspaces/{workspace_id}/executions"]["get"]
    assert executions["security"] == [{"bearer": []}]
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login
