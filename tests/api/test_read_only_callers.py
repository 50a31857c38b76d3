"""Read-only callers (a VIEWER, an API key with read scopes only) cannot start runs through a webhook token
they were shown, nor collect the other members' emails; those who may edit still see both."""

from __future__ import annotations

import httpx

from tests.api.conftest import sign_up
from tests.api.test_webhooks import webhook_workflow


async def test_webhook_tokens_and_members_emails_go_only_to_those_who_may_edit(
    api_client: httpx.AsyncClient,
) -> None:
    client = api_client
    base, owner, _, _ = await webhook_workflow(client, email="owner-ro@example.com")
    viewer = await sign_up(client, "viewer-ro@example.com")
    member = await sign_up(client, "member-ro@example.com")
    for email, role in (("viewer-ro@example.com", "VIEWER"), ("member-ro@example.com", "MEMBER")):
        added = await client.post(f"{base}/members", headers=owner, json={"email": email, "role": role})
        assert added.status_code == 201, added.text
    made = await client.post(
        "/api/v1/me/api-keys", headers=owner, json={"name": "dashboards", "scopes": ["workflows:read"]}
    )
    read_key = {"Authorization": f"Bearer {made.json()['key']}"}
    made = await client.post(
        "/api/v1/me/api-keys",
        headers=owner,
        json={"name": "ci", "scopes": ["workflows:read", "workflows:write"]},
    )
    write_key = {"Authorization": f"Bearer {made.json()['key']}"}

    async def hook_seen_by(headers: dict[str, str]) -> dict[str, object]:
        answer = await client.get(f"{base}/webhooks", headers=headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["items"][0])

    full = await hook_seen_by(owner)
    assert full["token"]
    assert str(full["url"]).endswith(str(full["token"]))
    for who, headers in (("member", member), ("a workflows:write key", write_key)):
        assert (await hook_seen_by(headers))["token"] == full["token"], who
    for who, headers in (("viewer", viewer), ("a workflows:read key", read_key)):
        seen = await hook_seen_by(headers)
        assert (seen["token"], seen["url"]) == (None, None), who
        assert str(full["token"]) not in str(seen), who
        assert (seen["id"], seen["isActive"], seen["totalCalls"]) == (full["id"], True, 0)  # the rest stays

    async def emails_seen_by(headers: dict[str, str]) -> dict[str, str | None]:
        answer = await client.get(f"{base}/members", headers=headers)
        assert answer.status_code == 200, answer.text
        return {m["userId"]: m["email"] for m in answer.json()["items"]}

    everyone = await emails_seen_by(owner)
    assert sorted(e for e in everyone.values() if e) == [
        "member-ro@example.com",
        "owner-ro@example.com",
        "viewer-ro@example.com",
    ]
    assert await emails_seen_by(member) == everyone
    as_viewer = await emails_seen_by(viewer)
    assert sorted(e for e in as_viewer.values() if e) == ["viewer-ro@example.com"]  # their own only
    assert len(as_viewer) == 3  # still sees who is in the workspace, and their names
    as_read_key = await emails_seen_by(read_key)
    assert sorted(e for e in as_read_key.values() if e) == ["owner-ro@example.com"]
