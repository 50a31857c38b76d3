"""Workspaces and members: creation, the role matrix, the last owner, and other tenants seeing 404."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from baton.admin import set_plan
from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up
from tests.api.test_instance_admins import signed_up_with_link

W = "/api/v1/workspaces"


async def workspace_with_roles(client: httpx.AsyncClient) -> tuple[str, dict[str, dict[str, str]]]:
    """A workspace with one user per role, plus an outsider (member of another workspace)."""
    headers = {
        role: await sign_up(client, f"{role.lower()}@example.com")
        for role in ("OWNER", "ADMIN", "MEMBER", "VIEWER", "OUTSIDER")
    }
    workspace = (await client.post(W, headers=headers["OWNER"], json={"name": "Acme Corp"})).json()
    for role in ("ADMIN", "MEMBER", "VIEWER"):
        added = await client.post(
            f"{W}/{workspace['id']}/members",
            headers=headers["OWNER"],
            json={"email": f"{role.lower()}@example.com", "role": role},
        )
        assert added.status_code == 201, added.text
    await client.post(W, headers=headers["OUTSIDER"], json={"name": "Elsewhere"})
    return workspace["id"], headers


async def test_creating_a_workspace_makes_the_creator_owner_with_a_generated_slug(
    api_client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(api_client, "o@example.com")
    first = (await api_client.post(W, headers=headers, json={"name": "Acme Corp!"})).json()
    second = (await api_client.post(W, headers=headers, json={"name": "Acme Corp!"})).json()
    assert first["slug"] == "acme-corp"
    assert second["slug"].startswith("acme-corp-")
    assert (first["role"], first["plan"], first["maxWorkflows"], first["maxExecutions"]) == (
        "OWNER",
        "FREE",
        5,
        1000,
    )
    listed = (await api_client.get(W, headers=headers)).json()["items"]
    assert [w["id"] for w in listed] == [first["id"], second["id"]]
    taken = await api_client.post(W, headers=headers, json={"name": "X", "slug": "acme-corp"})
    assert (taken.status_code, taken.json()["path"]) == (409, "slug")


def _call(method: str, path: str, body: Any = None) -> tuple[str, str, Any]:
    return method, path, body


# (request, least role allowed). Member paths use the MEMBER user's id, filled in at run time.
MATRIX = [
    (_call("GET", "{w}"), "VIEWER"),
    (_call("GET", "{w}/members"), "VIEWER"),
    (_call("PATCH", "{w}", {"name": "Renamed"}), "ADMIN"),
    (_call("POST", "{w}/members", {"email": "new@example.com", "role": "VIEWER"}), "ADMIN"),
    (_call("PATCH", "{w}/members/{member}", {"role": "VIEWER"}), "ADMIN"),
    (_call("DELETE", "{w}"), "OWNER"),
]
RANK = {"VIEWER": 0, "MEMBER": 1, "ADMIN": 2, "OWNER": 3}


@pytest.mark.parametrize(
    ("request_", "least"), MATRIX, ids=lambda v: v if isinstance(v, str) else " ".join(v[:2])
)
async def test_the_permission_matrix_and_tenant_isolation(
    api_client: httpx.AsyncClient, request_: tuple[str, str, Any], least: str
) -> None:
    method, template, body = request_
    workspace_id, headers = await workspace_with_roles(api_client)
    await sign_up(api_client, "new@example.com")
    member_id = (await api_client.get("/api/v1/me", headers=headers["MEMBER"])).json()["id"]
    path = f"{W}/" + template.format(w=workspace_id, member=member_id)
    # Least privileged first, so the allowed (possibly destructive) calls come last.
    for role in ("OUTSIDER", "VIEWER", "MEMBER", "ADMIN", "OWNER"):
        response = await api_client.request(method, path, headers=headers[role], json=body)
        allowed = role != "OUTSIDER" and RANK[role] >= RANK[least]
        if role == "OUTSIDER":
            assert response.status_code == 404, response.text  # never reveal another tenant's workspace
        elif allowed:
            assert response.status_code < 300, f"{role} {method} {template}: {response.text}"
        else:
            assert response.status_code == 403, f"{role} {method} {template}: {response.text}"
        if allowed and method == "POST":  # undo, so the next role can add the same member
            await api_client.delete(
                f"{W}/{workspace_id}/members/{response.json()['userId']}", headers=headers["OWNER"]
            )
        if allowed and method == "DELETE":
            break


async def test_an_unknown_workspace_is_404_with_the_error_shape(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "x@example.com")
    response = await api_client.get(f"{W}/00000000-0000-0000-0000-000000000000", headers=headers)
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail", "path"}


async def test_the_last_owner_cannot_leave_or_be_demoted(api_client: httpx.AsyncClient) -> None:
    workspace_id, headers = await workspace_with_roles(api_client)
    owner_id = (await api_client.get("/api/v1/me", headers=headers["OWNER"])).json()["id"]
    leave = await api_client.delete(f"{W}/{workspace_id}/members/{owner_id}", headers=headers["OWNER"])
    assert leave.status_code == 409
    demote = await api_client.patch(
        f"{W}/{workspace_id}/members/{owner_id}", headers=headers["OWNER"], json={"role": "ADMIN"}
    )
    assert demote.status_code == 409
    admin_id = (await api_client.get("/api/v1/me", headers=headers["ADMIN"])).json()["id"]
    promote = await api_client.patch(
        f"{W}/{workspace_id}/members/{admin_id}", headers=headers["OWNER"], json={"role": "OWNER"}
    )
    assert promote.status_code == 200
    assert (
        await api_client.delete(f"{W}/{workspace_id}/members/{owner_id}", headers=headers["OWNER"])
    ).status_code == 204


async def test_an_admin_cannot_make_owners_and_a_member_can_leave(api_client: httpx.AsyncClient) -> None:
    workspace_id, headers = await workspace_with_roles(api_client)
    member_id = (await api_client.get("/api/v1/me", headers=headers["MEMBER"])).json()["id"]
    escalate = await api_client.patch(
        f"{W}/{workspace_id}/members/{member_id}", headers=headers["ADMIN"], json={"role": "OWNER"}
    )
    assert escalate.status_code == 403
    leave = await api_client.delete(f"{W}/{workspace_id}/members/{member_id}", headers=headers["MEMBER"])
    assert leave.status_code == 204
    assert (await api_client.get(f"{W}/{workspace_id}", headers=headers["MEMBER"])).status_code == 404


async def test_a_tenant_cannot_lift_its_own_plan(api_client: httpx.AsyncClient) -> None:
    """Any OWNER lifted every quota with PATCH {"plan": "ENTERPRISE"}: plans are the operator's now."""
    workspace_id, headers = await workspace_with_roles(api_client)
    owner = await api_client.patch(
        f"{W}/{workspace_id}", headers=headers["OWNER"], json={"plan": "ENTERPRISE"}
    )
    assert owner.status_code == 403
    assert (owner.json()["path"], owner.json()["error"]) == ("plan", "operator_only")
    for role in ("OWNER", "ADMIN"):
        lifted = await api_client.patch(
            f"{W}/{workspace_id}", headers=headers[role], json={"plan": "ENTERPRISE"}
        )
        assert lifted.status_code == 403, lifted.text
    assert lifted.json()["error"] == "forbidden"  # an ADMIN may not even ask
    admin = await api_client.put(
        f"/api/v1/admin/workspaces/{workspace_id}/plan", headers=headers["OWNER"], json={"plan": "ENTERPRISE"}
    )
    assert admin.status_code == 403
    after = (await api_client.get(f"{W}/{workspace_id}", headers=headers["OWNER"])).json()
    assert (after["plan"], after["maxWorkflows"]) == ("FREE", 5)


async def test_an_instance_admin_sets_plans_and_limits(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_client_for(
        settings.model_copy(update={"instance_admins": ["Operator@example.com"]})
    ) as client:
        operator, token = await signed_up_with_link(client, "operator@example.com", caplog)
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
        tenant = await sign_up(client, f"tenant-{uuid.uuid4().hex[:6]}@example.com")
        workspace = (await client.post(W, headers=tenant, json={"name": "Tenant"})).json()
        path = f"/api/v1/admin/workspaces/{workspace['id']}/plan"
        refused = await client.put(path, headers=tenant, json={"plan": "ENTERPRISE"})
        assert refused.status_code == 403
        bad = await client.put(path, headers=operator, json={"plan": "GOLD"})
        assert bad.status_code == 422
        changed = await client.put(path, headers=operator, json={"plan": "STARTER", "maxWorkflows": 42})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["plan"], changed.json()["maxWorkflows"], changed.json()["maxExecutions"]) == (
            "STARTER",
            42,
            10_000,
        )
        missing = await client.put(
            "/api/v1/admin/workspaces/nope/plan", headers=operator, json={"plan": "FREE"}
        )
        assert missing.status_code == 404


async def test_new_workspaces_get_the_default_plan_setting(settings: Settings) -> None:
    async with api_client_for(settings.model_copy(update={"default_plan": "PROFESSIONAL"})) as client:
        headers = await sign_up(client, f"u-{uuid.uuid4().hex[:6]}@example.com")
        workspace = (await client.post(W, headers=headers, json={"name": "Mine"})).json()
        assert (workspace["plan"], workspace["maxWorkflows"], workspace["maxExecutions"]) == (
            "PROFESSIONAL",
            100,
            100_000,
        )


async def test_baton_plan_sets_a_workspaces_plan(settings: Settings, api_client: httpx.AsyncClient) -> None:
    workspace_id, headers = await workspace_with_roles(api_client)
    line = await set_plan(settings, workspace_id, "ENTERPRISE", None, 2_000_000)
    assert "ENTERPRISE" in line
    after = (await api_client.get(f"{W}/{workspace_id}", headers=headers["OWNER"])).json()
    assert (after["plan"], after["maxWorkflows"], after["maxExecutions"]) == ("ENTERPRISE", 10_000, 2_000_000)
    with pytest.raises(ValueError, match="unknown plan"):
        await set_plan(settings, workspace_id, "GOLD", None, None)
    with pytest.raises(ValueError, match="id or slug"):
        await set_plan(settings, "no-such-workspace", "FREE", None, None)


async def test_deleting_a_workspace_cascades(api_client: httpx.AsyncClient) -> None:
    workspace_id, headers = await workspace_with_roles(api_client)
    assert (await api_client.delete(f"{W}/{workspace_id}", headers=headers["OWNER"])).status_code == 204
    assert (await api_client.get(f"{W}/{workspace_id}", headers=headers["OWNER"])).status_code == 404
    assert (await api_client.get(W, headers=headers["ADMIN"])).json()["items"] == []
