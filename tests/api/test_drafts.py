"""Building a workflow without re-running all of it: one step of the draft tested alone with given values
(`POST .../steps/{stepId}/test`), and draft runs whose earlier steps are pinned (`pinnedOutputs`,
`pinnedFrom`): the services behind pinned or untested steps are never called."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.test_workflows import setup, workflow
from tests.http_server import Reply, ScriptedServer


def steps(base: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "lookup",
            "type": "action",
            "action": "http.request",
            "input": {"url": base + "/people/{{ trigger.email }}"},
        },
        {"id": "name", "type": "set", "values": {"first": "{{ steps.lookup.output.body.name }}"}},
        {
            "id": "notify",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": base + "/notify", "json": {"text": "Hi {{ vars.first }}"}},
        },
    ]


async def draft_of(client: httpx.AsyncClient, http_server: ScriptedServer) -> tuple[str, dict[str, str]]:
    http_server.script("/people/ada@example.com", Reply(200, {"name": "Ada"}))
    url = http_server.script("/notify", Reply(200, {"ok": True}))
    base, headers = await setup(client, "drafts@example.com")
    created = await client.post(
        f"{base}/workflows", headers=headers, json=workflow(steps(url.removesuffix("/notify")))
    )
    assert created.status_code == 201, created.text
    return f"{base}/workflows/{created.json()['id']}", headers


async def test_one_step_runs_alone_with_the_data_given_for_what_it_reads(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    flow, headers = await draft_of(client, http_server)
    tried = await client.post(
        f"{flow}/steps/name/test",
        headers=headers,
        json={"context": {"steps": {"lookup": {"body": {"name": "Bo"}}}}},
    )
    assert tried.status_code == 200, tried.text
    answer = tried.json()
    assert answer["status"] == "SUCCESS"
    assert [(s["stepId"], s["output"]) for s in answer["stepExecutions"]] == [("name", {"first": "Bo"})]
    assert http_server.requests == []  # neither the lookup before it nor the notification after it

    sent = await client.post(
        f"{flow}/steps/notify/test",
        headers=headers,
        json={
            "input": {
                "method": "POST",
                "url": http_server.base_url + "/notify",
                "json": {"text": "{{ vars.first }}"},
            },
            "context": {"vars": {"first": "Cy"}},
        },
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["stepExecutions"][0]["output"]["status"] == 200
    assert [json.loads(hit.body) for hit in http_server.hits("/notify")] == [{"text": "Cy"}]
    shown = await client.get(f"{flow.split('/workflows')[0]}/executions/{sent.json()['id']}", headers=headers)
    assert shown.json()["context"]["test"] is True


async def test_a_step_test_refuses_what_it_cannot_do_naming_the_field(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    flow, headers = await draft_of(client, http_server)
    missing = await client.post(f"{flow}/steps/nope/test", headers=headers, json={})
    assert missing.status_code == 404
    assert "nope" in missing.text
    no_input = await client.post(f"{flow}/steps/name/test", headers=headers, json={"input": {"a": 1}})
    assert no_input.status_code == 422
    assert no_input.json()["path"] == "input"
    bad_input = await client.post(f"{flow}/steps/notify/test", headers=headers, json={"input": [1]})
    assert bad_input.status_code == 422, bad_input.text
    assert bad_input.json()["path"] == "input"
    stranger = await client.post(
        f"{flow}/steps/name/test", headers=headers, json={"context": {"executionId": "not-a-run-of-it"}}
    )
    assert stranger.status_code == 422
    assert stranger.json()["path"] == "context.executionId"
    assert http_server.requests == []


async def test_pinned_steps_are_not_called_and_a_draft_run_answers_with_its_steps(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    flow, headers = await draft_of(client, http_server)
    first = await client.post(
        f"{flow}/run?draft=true&wait=true", headers=headers, json={"payload": {"email": "ada@example.com"}}
    )
    assert first.status_code == 200, first.text
    assert [s["stepId"] for s in first.json()["stepExecutions"]] == ["lookup", "name", "notify"]
    assert len(http_server.hits("/people/ada@example.com")) == 1

    again = await client.post(
        f"{flow}/run?draft=true&wait=true",
        headers=headers,
        json={"pinnedFrom": {"executionId": first.json()["id"], "steps": ["lookup", "name"]}},
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "SUCCESS"
    assert [s["stepId"] for s in again.json()["stepExecutions"]] == ["notify"]
    assert len(http_server.hits("/people/ada@example.com")) == 1  # pinned: not called again
    assert [json.loads(hit.body) for hit in http_server.hits("/notify")] == [
        {"text": "Hi Ada"}
    ] * 2  # the pinned set's vars

    pinned = await client.post(
        f"{flow}/run?draft=true&wait=true",
        headers=headers,
        json={"payload": {"email": "x@example.com"}, "pinnedOutputs": {"lookup": {"body": {"name": "Di"}}}},
    )
    assert pinned.json()["status"] == "SUCCESS", pinned.text
    assert http_server.hits("/people/x@example.com") == []
    assert json.loads(http_server.hits("/notify")[-1].body) == {"text": "Hi Di"}


async def test_pinning_is_refused_where_it_cannot_apply_naming_the_field(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    flow, headers = await draft_of(client, http_server)
    published = await client.post(f"{flow}/run", headers=headers, json={"pinnedOutputs": {"lookup": {}}})
    assert published.status_code == 422
    assert published.json()["path"] == "pinnedOutputs"
    assert "draft=true" in published.text
    unknown = await client.post(
        f"{flow}/run?draft=true", headers=headers, json={"pinnedOutputs": {"nope": {}}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["path"] == "pinnedOutputs.nope"
    stranger = await client.post(
        f"{flow}/run?draft=true", headers=headers, json={"pinnedFrom": {"executionId": "elsewhere"}}
    )
    assert stranger.status_code == 422
    assert stranger.json()["path"] == "pinnedFrom.executionId"
    assert http_server.requests == []
