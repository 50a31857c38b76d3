"""What the LLM tests share: local servers answering in each provider's documented shapes (OpenAI chat
completions, Azure OpenAI, Anthropic Messages, Gemini generateContent), the connection pointing at them, and
the step that calls them (the `model_server` fixture of tests/integrations/conftest.py is the server).
Nothing leaves the machine."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import action_step
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio

KEY = "sk-test-SECRET-key"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
INVOICE_SCHEMA = {
    "type": "object",
    "properties": {"total": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["total", "currency"],
}


def openai_reply(content: str | None, *, tool_calls: list[dict[str, Any]] | None = None) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return Reply(
        200,
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
            ],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
        },
    )


def sse(*events: tuple[str | None, Any]) -> Reply:
    text = "".join(
        (f"event: {name}\n" if name else "")
        + f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
        for name, data in events
    )
    return Reply(200, text, {"content-type": "text/event-stream"})


# OpenAI's and Azure OpenAI's answer: some text and a call of WEATHER_TOOL
OPENAI_TOOL_CALL = openai_reply(
    "Let me look.",
    tool_calls=[
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ],
)
# Per provider: the connection, the path the chat goes to, a reply with text and a tool call, and how the
# request must look (auth header, where the tool and the system prompt went).
PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "credentials": {"provider": "openai", "organization": "org-1"},
        "path": "/v1/chat/completions",
        "reply": OPENAI_TOOL_CALL,
        "auth": ("Authorization", f"Bearer {KEY}"),
    },
    "azure_openai": {
        "credentials": {"provider": "azure_openai", "deployment": "gpt4o", "apiVersion": "2024-10-21"},
        "path": "/openai/deployments/gpt4o/chat/completions",
        "reply": OPENAI_TOOL_CALL,
        "auth": ("api-key", KEY),
    },
    "anthropic": {
        "credentials": {"provider": "anthropic"},
        "path": "/v1/messages",
        "reply": Reply(
            200,
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"city": "Paris"}},
                ],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 1000, "output_tokens": 500},
            },
        ),
        "auth": ("x-api-key", KEY),
    },
    "gemini": {
        "credentials": {"provider": "gemini"},
        "path": "/v1beta/models/gemini-2.5-flash:generateContent",
        "reply": Reply(
            200,
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [
                                {"text": "Let me look."},
                                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                            ],
                        },
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": 1000,
                    "candidatesTokenCount": 500,
                    "totalTokenCount": 1500,
                },
                "modelVersion": "gemini-2.5-flash",
            },
        ),
        "auth": ("x-goog-api-key", KEY),
    },
}
MODELS = {
    "openai": "gpt-4o-mini",
    "azure_openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4",
    "gemini": "gemini-2.5-flash",
}


async def connect(studio: Studio, server: ScriptedServer, provider: str, **more: Any) -> str:
    credentials: dict[str, Any] = {**PROVIDERS[provider]["credentials"], "apiKey": KEY, **more}
    root = {"openai": "/v1", "azure_openai": "", "anthropic": "", "gemini": "/v1beta"}[provider]
    if provider == "azure_openai":
        credentials["endpoint"] = server.base_url
    else:
        credentials["baseUrl"] = server.base_url + root
    return await studio.connect("llm", credentials)


def say_hi(provider: str) -> dict[str, Any]:
    """The smallest chat input: "hi" to the provider's model of MODELS."""
    return {"model": MODELS[provider], "messages": [{"role": "user", "content": "hi"}]}


async def run_step(
    studio: Studio,
    server: ScriptedServer,
    provider: str,
    action: str,
    data: dict[str, Any],
    payload: Any = None,
    *,
    credentials: dict[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Connects `provider` to `server` (with `credentials` added), publishes one `action` step (`ask`, with
    `more` of its fields) and answers its finished run."""
    connection = await connect(studio, server, provider, **(credentials or {}))
    workflow = await studio.publish([step(action, connection, data, **more)])
    return await studio.run(workflow, payload)


def step(action: str, connection: str, data: dict[str, Any], **more: Any) -> dict[str, Any]:
    return action_step("ask", action, data, connection, **more)
