"""The chat entry point on the real stack (API on a socket, worker, Temporal, PostgreSQL, Redis), with a
local model server streaming in OpenAI's shape: a message streams its answer token by token (server-sent
events) while the same tokens show in the run's live events; the JSON answer of a message, the session's
memory carried to the next one; CORS for the allowed origins only; bad calls answered 4xx naming the field."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from core.settings import Settings
from integrations.llm import anthropic, gemini, openai
from integrations.llm.streaming import parse_events
from tests.api.conftest import served_api
from tests.api.test_webhook_signatures import standard_headers
from tests.http_server import Reply, ScriptedServer, Seen
from tests.integrations.agent_flows import CHAT, decide, sent, set_up
from tests.integrations.conftest import Studio, eventually
from tests.integrations.llm_servers import MODELS, connect, openai_reply, sse
from tests.integrations.test_llm import STREAMS
from tests.integrations.test_throttle import hook_of

SITE = "https://shop.example.com"
PIECES = ["Your order ", "A-1 has ", "shipped."]


class GatedModel(ScriptedServer):
    """Answers the chat completions once `gate` is set (so a test can subscribe first)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        if seen.path == CHAT:
            self.lock.release()  # other requests go on while this one waits
            try:
                self.gate.wait(30)
            finally:
                self.lock.acquire()
        return super().answer(seen)


def streamed_reply(pieces: list[str]) -> Reply:
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18"}
    return sse(
        *[(None, {**chunk, "choices": [{"index": 0, "delta": {"content": piece}}]}) for piece in pieces],
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        (
            None,
            {
                **chunk,
                "choices": [],
                "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26},
            },
        ),
        (None, "[DONE]"),
    )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a real socket: streams are read as they come."""
    async with served_api(settings) as client:
        yield client


@pytest.fixture
def model() -> Iterator[GatedModel]:
    server = GatedModel()
    yield server
    server.gate.set()
    server.close()


async def chat_hook(studio: Studio, model: ScriptedServer, **agent: Any) -> str:
    llm = await connect(studio, model, "openai")
    step = {
        "id": "reply",
        "type": "agent",
        "connectionId": llm,
        "model": MODELS["openai"],
        "message": "{{ trigger.body.message }}",
        "memory": {"sessionKey": "{{ trigger.body.sessionId }}"},
        **agent,
    }
    workflow_id = await studio.publish([step], "WEBHOOK", {"chat": {"allowedOrigins": [SITE]}})
    return await hook_of(studio, workflow_id)


def events_of(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in lines and "data" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


async def read_stream(response: httpx.Response, out: list[tuple[str, dict[str, Any]]], until: str) -> None:
    text = ""
    async for chunk in response.aiter_text():
        text += chunk
        out[:] = events_of(text[: text.rfind("\n\n") + 2])
        if any(name == until for name, _ in out):
            return


async def test_a_chat_message_streams_its_answer_token_by_token_and_the_runs_live_view_shows_them(
    studio: Studio, api: httpx.AsyncClient, model: GatedModel
) -> None:
    model.script(CHAT, streamed_reply(PIECES))
    token = await chat_hook(studio, model, stream=True)
    chatted: list[tuple[str, dict[str, Any]]] = []
    watched: list[tuple[str, dict[str, Any]]] = []
    headers = {"Accept": "text/event-stream", "Origin": SITE}
    body = {"message": "Where is A-1?", "sessionId": "visitor-1"}
    async with api.stream("POST", f"/hooks/{token}/chat", headers=headers, json=body) as response:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == SITE
        reading = asyncio.create_task(read_stream(response, chatted, "answer"))
        while not chatted:  # the `start` event names the run
            await asyncio.sleep(0.05)
        name, started = chatted[0]
        assert (name, started["sessionId"]) == ("start", "visitor-1")
        run_events = f"{studio.base}/executions/{started['executionId']}/events"
        async with api.stream("GET", run_events, headers=studio.headers) as live:
            watching = asyncio.create_task(read_stream(live, watched, "never"))
            while not watched:  # its first event (the run's status) comes once it is subscribed
                await asyncio.sleep(0.05)
            model.gate.set()
            await asyncio.wait_for(reading, 30)
            while len([n for n, _ in watched if n == "token"]) < len(PIECES) and not watching.done():
                await asyncio.sleep(0.05)
            watching.cancel()
    assert [data["text"] for name, data in chatted if name == "token"] == PIECES
    assert chatted[-1] == (
        "answer",
        {"executionId": started["executionId"], "sessionId": "visitor-1", "answer": "".join(PIECES)},
    )
    assert [data["text"] for name, data in watched if name == "token"] == PIECES  # the run's live view
    assert json.loads(model.hits(CHAT)[0].body)["stream"] is True


async def test_a_chat_message_answered_as_json_and_the_session_remembered(
    studio: Studio, api: httpx.AsyncClient, model: GatedModel
) -> None:
    model.gate.set()
    model.script(CHAT, openai_reply("Hello Ada."), openai_reply("You are Ada."))
    token = await chat_hook(studio, model)
    first = await api.post(f"/hooks/{token}/chat", json={"message": "I am Ada", "sessionId": "s-7"})
    assert first.status_code == 200, first.text
    assert first.json()["answer"] == "Hello Ada."
    assert first.json()["sessionId"] == "s-7"
    assert first.headers["x-baton-execution-id"] == first.json()["executionId"]
    second = await api.post(f"/hooks/{token}/chat", json={"message": "Who am I?", "sessionId": "s-7"})
    assert second.json()["answer"] == "You are Ada."
    asked = sent(model, CHAT)[-1]["messages"]
    assert [m["content"] for m in asked if m["role"] in ("user", "assistant")] == [
        "I am Ada",
        "Hello Ada.",
        "Who am I?",
    ]


async def test_only_allowed_origins_may_chat_and_bad_calls_are_refused_naming_the_field(
    studio: Studio, api: httpx.AsyncClient, model: GatedModel
) -> None:
    model.gate.set()
    model.script(CHAT, openai_reply("Hi."))
    token = await chat_hook(studio, model)
    url = f"/hooks/{token}/chat"
    preflight = {"Origin": SITE, "Access-Control-Request-Method": "POST"}
    allowed = await api.options(url, headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    other = await api.options(url, headers={**preflight, "Origin": "https://evil.example"})
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers

    refused = await api.post(
        url, headers={"Origin": "https://evil.example"}, json={"message": "x", "sessionId": "s"}
    )
    assert (refused.status_code, refused.json()["path"]) == (403, "Origin")
    assert model.hits(CHAT) == []  # nothing started
    missing = await api.post(url, json={"message": "x"})
    assert missing.status_code == 422
    assert "sessionId" in missing.text
    empty = await api.post(url, json={"message": "", "sessionId": "s"})
    assert empty.status_code == 422
    assert "message" in empty.text

    plain = await studio.publish([{"id": "x", "type": "set", "values": {}}], "WEBHOOK", {})
    not_a_chat = await api.post(
        f"/hooks/{await hook_of(studio, plain)}/chat", json={"message": "x", "sessionId": "s"}
    )
    assert not_a_chat.status_code == 404
    assert "not a chat" in not_a_chat.json()["detail"]
    bad = await studio.client.post(
        f"{studio.base}/workflows",
        headers=studio.headers,
        json={"name": "c", "triggerType": "WEBHOOK", "triggerConfig": {"chat": {"allowedOrigins": ["shop"]}}},
    )
    assert bad.status_code == 422
    assert "allowedOrigins" in bad.text


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_each_providers_streamed_events_give_the_text_pieces_shown_live(provider: str) -> None:
    _, reply = STREAMS[provider]
    text_of = {"openai": openai.stream_text, "anthropic": anthropic.stream_text, "gemini": gemini.stream_text}
    pieces = [text for name, data in parse_events(reply.body) if (text := text_of[provider](name, data))]
    assert pieces == ["Hel", "lo"]


async def test_the_support_agent_with_three_tools_answers_a_chat_message_once_its_refund_is_approved(
    studio: Studio, api: httpx.AsyncClient, model: GatedModel, http_server: ScriptedServer
) -> None:
    model.gate.set()
    chat = ("WEBHOOK", {"syncTimeoutSeconds": 120, "chat": {"allowedOrigins": [SITE]}})
    workflow_id = await set_up(studio, model, http_server, trigger=chat, message="{{ trigger.body.message }}")
    token = await hook_of(studio, workflow_id)
    body = {"message": "Where is A-1? Refund it.", "sessionId": "visitor-9"}
    asking = asyncio.create_task(api.post(f"/hooks/{token}/chat", headers={"Origin": SITE}, json=body))
    query = "SELECT id FROM workflow_executions WHERE workflow_id = $1"
    started = await eventually(lambda: studio.db.fetchval(query, workflow_id))
    assert started, "the chat message started no run"
    await decide(studio, started, arguments={"orderId": "A-1", "amount": 20})
    answered = await asyncio.wait_for(asking, 120)
    assert answered.status_code == 200, answered.text
    assert answered.json() == {
        "answer": "Your order A-1 has shipped; I refunded 20 EUR.",
        "sessionId": "visitor-9",
        "executionId": started,
    }
    assert sent(http_server, "/refunds") == [{"orderId": "A-1", "amount": 20}]
    assert len(model.hits(CHAT)) == 3
    run = await studio.execution(started)
    rows = {r["stepKey"]: r for r in run["stepExecutions"] if r["stepId"] == "support"}
    turns = rows["support"]["output"]["turns"]
    assert [(t["usage"]["totalTokens"], t["costUsd"] > 0) for t in turns] == [(1500, True)] * 3


async def test_a_chat_with_a_secret_takes_only_calls_signed_over_the_body_as_sent(
    studio: Studio, api: httpx.AsyncClient, model: GatedModel
) -> None:
    model.gate.set()
    model.script(CHAT, openai_reply("Signed and answered."))
    token = await chat_hook(studio, model)
    hooks = (await studio.client.get(f"{studio.base}/webhooks", headers=studio.headers)).json()["items"]
    hook_id = next(h["id"] for h in hooks if h["token"] == token)
    rotated = await studio.client.post(
        f"{studio.base}/webhooks/{hook_id}/rotate-secret", headers=studio.headers
    )
    secret = rotated.json()["secret"]
    raw = b'{"sessionId": "srv-1",   "message": "Hello from a server"}'  # spaced as its sender wrote it
    unsigned = await api.post(
        f"/hooks/{token}/chat", content=raw, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401
    signed = await api.post(f"/hooks/{token}/chat", content=raw, headers=standard_headers(secret, raw))
    assert signed.status_code == 200, signed.text
    assert signed.json()["answer"] == "Signed and answered."
    assert len(model.hits(CHAT)) == 1
