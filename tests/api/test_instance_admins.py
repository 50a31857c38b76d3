"""Instance admins (INSTANCE_ADMINS): an address counts only once its account has verified it, so whoever
registers the operator's address first (in any letter case) gets nothing; an entry may be an account id."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up

W = "/api/v1/workspaces"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API of an instance whose INSTANCE_ADMINS names the address Operator@Example.com."""
    admins = settings.model_copy(update={"instance_admins": ["Operator@Example.com"]})
    async with api_client_for(admins) as client:
        yield client


async def tenants_plan(client: httpx.AsyncClient) -> str:
    """A tenant's new workspace: the admin path of its plan."""
    tenant = await sign_up(client, "tenant@example.com")
    workspace = (await client.post(W, headers=tenant, json={"name": "Tenant"})).json()
    return f"/api/v1/admin/workspaces/{workspace['id']}/plan"


async def signed_up_with_link(
    client: httpx.AsyncClient, email: str, caplog: pytest.LogCaptureFixture
) -> tuple[dict[str, str], str]:
    """Registers and logs in; the Authorization header and the verification token mailed to `email` (logged
    in development)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="baton.auth"):
        headers = await sign_up(client, email)
    logged = next(r.getMessage() for r in caplog.records if "verify-email" in r.getMessage())
    token = re.search(r'"token": "([^"]+)"', logged).group(1)  # type: ignore[union-attr]
    return headers, token


async def test_an_unverified_admin_address_grants_nothing_until_its_owner_verifies_it(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    squatter, _ = await signed_up_with_link(client, "OPERATOR@example.com", caplog)
    path = await tenants_plan(client)
    refused = await client.put(path, headers=squatter, json={"plan": "ENTERPRISE"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "operator_only"
    own = (await client.post(W, headers=squatter, json={"name": "Mine"})).json()
    lifted = await client.patch(f"{W}/{own['id']}", headers=squatter, json={"plan": "ENTERPRISE"})
    assert (lifted.status_code, lifted.json()["path"]) == (403, "plan")
    assert (await client.get("/api/v1/me", headers=squatter)).json()["emailVerified"] is False


async def test_the_verified_owner_of_an_admin_address_is_an_instance_admin(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    operator, token = await signed_up_with_link(client, "operator@example.com", caplog)
    path = await tenants_plan(client)
    assert (await client.put(path, headers=operator, json={"plan": "STARTER"})).status_code == 403
    verified = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    changed = await client.put(path, headers=operator, json={"plan": "STARTER"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"] == "STARTER"


async def test_an_admin_named_by_account_id_needs_no_verified_address(settings: Settings) -> None:
    async with api_client_for(settings) as setup:
        operator = await sign_up(setup, "ops-by-id@example.com")
        operator_id = (await setup.get("/api/v1/me", headers=operator)).json()["id"]
    async with api_client_for(settings.model_copy(update={"instance_admins": [operator_id]})) as client:
        tenant = await sign_up(client, "tenant@example.com")
        workspace = (await client.post(W, headers=tenant, json={"name": "Tenant"})).json()
        path = f"/api/v1/admin/workspaces/{workspace['id']}/plan"
        assert (await client.put(path, headers=tenant, json={"plan": "STARTER"})).status_code == 403
        changed = await client.put(path, headers=operator, json={"plan": "STARTER"})
        assert changed.status_code == 200, changed.text
