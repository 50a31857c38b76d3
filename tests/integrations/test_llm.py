"""LLM actions end to end: published workflows call local servers that answer in each provider's documented
shapes (OpenAI chat completions and embeddings, Azure OpenAI, Anthropic Messages, Gemini generateContent
and embeddings, their SSE streams and tool calls); nothing leaves the machine."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.definition.validation import validate_definition
from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.outbound import OutboundPolicy, outbound_client
from core.settings import Settings
from integrations.catalogue import action_input_schema, get_integration
from integrations.context import ActionError
from integrations.llm.messages import ChatMessage, Turn
from integrations.llm.openai import request_body
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio

KEY = "sk-test-SECRET-key"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "llm.md"
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


@pytest.fixture
def model_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


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


# Per provider: the connection, the path the chat goes to, a reply with text and a tool call, and how the
# request must look (auth header, where the tool and the system prompt went).
PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "credentials": {"provider": "openai", "organization": "org-1"},
        "path": "/v1/chat/completions",
        "reply": openai_reply(
            "Let me look.",
            tool_calls=[
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        ),
        "auth": ("Authorization", f"Bearer {KEY}"),
    },
    "azure_openai": {
        "credentials": {"provider": "azure_openai", "deployment": "gpt4o", "apiVersion": "2024-10-21"},
        "path": "/openai/deployments/gpt4o/chat/completions",
        "reply": openai_reply(
            "Let me look.",
            tool_calls=[
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        ),
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


def step(action: str, connection: str, data: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "id": "ask",
        "type": "action",
        "action": action,
        "connectionId": connection,
        "input": data,
        **more,
    }


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_chat_with_each_provider_returns_text_tool_calls_tokens_and_cost(
    studio: Studio, model_server: ScriptedServer, provider: str
) -> None:
    case = PROVIDERS[provider]
    model_server.script(case["path"], case["reply"])
    connection = await connect(studio, model_server, provider)
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {
                    "model": MODELS[provider],
                    "system": "You are terse.",
                    "messages": [{"role": "user", "content": "Weather in {{ trigger.city }}?"}],
                    "temperature": 0.2,
                    "maxTokens": 200,
                    "tools": [WEATHER_TOOL],
                },
            )
        ]
    )
    execution = await studio.run(workflow, {"city": "Paris"})
    assert execution["status"] == "SUCCESS", execution["error"]
    output = execution["steps"]["ask"]["output"]
    assert output["text"] == "Let me look."
    assert [(c["name"], c["arguments"]) for c in output["toolCalls"]] == [("get_weather", {"city": "Paris"})]
    assert output["finishReason"] == "tool_calls"
    assert output["usage"] == {"inputTokens": 1000, "outputTokens": 500, "totalTokens": 1500}
    assert output["cost"]["usd"] is not None
    assert output["cost"]["usd"] > 0
    assert output["provider"] == provider
    (sent,) = model_server.hits(case["path"])
    header, value = case["auth"]
    assert sent.headers[header] == value
    body = json.loads(sent.body)
    text = json.dumps(body)
    assert "Weather in Paris?" in text
    assert "You are terse." in text
    assert "get_weather" in text
    if provider in {"openai", "azure_openai"}:
        assert body["messages"][0] == {"role": "system", "content": "You are terse."}
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert body["max_tokens"] == 200
    if provider == "azure_openai":
        assert sent.query == {"api-version": ["2024-10-21"]}
    if provider == "openai":
        assert sent.headers["OpenAI-Organization"] == "org-1"
    if provider == "anthropic":
        assert body["system"] == "You are terse."
        assert body["max_tokens"] == 200
        assert body["tools"][0]["input_schema"] == WEATHER_TOOL["parameters"]
        assert sent.headers["anthropic-version"] == "2023-06-01"
    if provider == "gemini":
        assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
        assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 200}
        assert body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert KEY not in json.dumps(execution)
    (usage,) = await studio.usage()
    assert (usage["integration_id"], usage["action"], usage["success"]) == ("llm", "chat", True)
    metered = usage["metadata"] if isinstance(usage["metadata"], dict) else json.loads(usage["metadata"])
    assert metered["provider"] == provider
    assert (metered["inputTokens"], metered["outputTokens"], metered["totalTokens"]) == (1000, 500, 1500)
    assert metered["costUsd"] == output["cost"]["usd"]


async def test_a_tool_result_goes_back_to_each_provider_in_its_own_shape(
    studio: Studio, model_server: ScriptedServer
) -> None:
    conversation = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "toolCalls": [{"id": "call_abc", "name": "get_weather", "arguments": {"city": "Paris"}}],
        },
        {"role": "tool", "toolCallId": "call_abc", "content": "18 C, sunny"},
    ]
    for provider in ("openai", "anthropic", "gemini"):
        model_server.script(PROVIDERS[provider]["path"], PROVIDERS[provider]["reply"])
        connection = await connect(studio, model_server, provider)
        workflow = await studio.publish(
            [step("llm.chat", connection, {"model": MODELS[provider], "messages": conversation})]
        )
        execution = await studio.run(workflow)
        assert execution["status"] == "SUCCESS", execution["error"]
    openai_sent = json.loads(model_server.hits(PROVIDERS["openai"]["path"])[0].body)["messages"]
    assert openai_sent[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert openai_sent[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "18 C, sunny"}
    anthropic_sent = json.loads(model_server.hits(PROVIDERS["anthropic"]["path"])[0].body)["messages"]
    assert anthropic_sent[1]["content"] == [
        {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert anthropic_sent[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "call_abc",
        "content": "18 C, sunny",
    }
    gemini_sent = json.loads(model_server.hits(PROVIDERS["gemini"]["path"])[0].body)["contents"]
    assert gemini_sent[1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
    }
    assert gemini_sent[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


STREAMS: dict[str, tuple[str, Reply]] = {
    "openai": (
        "/v1/chat/completions",
        sse(
            (None, {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
            (None, {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            (None, {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "lo"}}]}),
            (
                None,
                {
                    "model": "gpt-4o-mini",
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": "call_1",
                                        "type": "function",
                                        "function": {"name": "get_weather", "arguments": '{"ci'},
                                    }
                                ]
                            },
                        }
                    ],
                },
            ),
            (
                None,
                {
                    "model": "gpt-4o-mini",
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]
                            },
                            "finish_reason": "tool_calls",
                        }
                    ],
                },
            ),
            (
                None,
                {
                    "model": "gpt-4o-mini",
                    "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                },
            ),
            (None, "[DONE]"),
        ),
    ),
    "anthropic": (
        "/v1/messages",
        sse(
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "model": "claude-sonnet-4",
                        "content": [],
                        "usage": {"input_tokens": 10, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
            ),
            ("ping", {"type": "ping"}),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"city": "Os'},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": 'lo"}'},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 1}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use"},
                    "usage": {"output_tokens": 5},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ),
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        sse(
            (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}),
            (
                None,
                {
                    "candidates": [
                        {
                            "content": {
                                "role": "model",
                                "parts": [
                                    {"text": "lo"},
                                    {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                                ],
                            },
                            "finishReason": "STOP",
                        }
                    ],
                    "usageMetadata": {
                        "promptTokenCount": 10,
                        "candidatesTokenCount": 5,
                        "totalTokenCount": 15,
                    },
                },
            ),
        ),
    ),
}


@pytest.mark.parametrize("provider", list(STREAMS))
async def test_a_streamed_answer_is_assembled_with_its_tool_calls_and_usage(
    studio: Studio, model_server: ScriptedServer, provider: str
) -> None:
    path, reply = STREAMS[provider]
    model_server.script(path, reply)
    connection = await connect(studio, model_server, provider)
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {
                    "model": MODELS[provider],
                    "messages": [{"role": "user", "content": "Weather in Oslo?"}],
                    "tools": [{"type": "function", "function": WEATHER_TOOL}],
                    "stream": True,
                },
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    output = execution["steps"]["ask"]["output"]
    assert output["text"] == "Hello"
    assert [(c["name"], c["arguments"]) for c in output["toolCalls"]] == [("get_weather", {"city": "Oslo"})]
    assert output["finishReason"] == "tool_calls"
    assert output["usage"] == {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    sent = model_server.hits(path)[0]
    if provider == "gemini":
        assert sent.query == {"alt": ["sse"]}
    else:
        assert json.loads(sent.body)["stream"] is True


async def test_extract_sends_the_validation_error_back_and_succeeds_on_the_second_answer(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/chat/completions",
        openai_reply('{"total": "twelve", "currency": "EUR"}'),
        openai_reply('```json\n{"total": 12.5, "currency": "EUR"}\n```'),
    )
    connection = await connect(studio, model_server, "openai")
    workflow = await studio.publish(
        [
            step(
                "llm.extract",
                connection,
                {"model": "gpt-4o-mini", "prompt": "Invoice: {{ trigger.text }}", "schema": INVOICE_SCHEMA},
            )
        ]
    )
    execution = await studio.run(workflow, {"text": "Total 12.50 EUR"})
    assert execution["status"] == "SUCCESS", execution["error"]
    output = execution["steps"]["ask"]["output"]
    assert output["data"] == {"total": 12.5, "currency": "EUR"}
    assert output["attempts"] == 2
    assert output["usage"] == {"inputTokens": 2000, "outputTokens": 1000, "totalTokens": 3000}
    first, second = (json.loads(r.body) for r in model_server.hits("/v1/chat/completions"))
    assert first["response_format"]["json_schema"]["schema"] == INVOICE_SCHEMA
    correction = second["messages"][-1]["content"]
    assert "$.total" in correction
    assert "'twelve' is not of type 'number'" in correction
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": '{"total": "twelve", "currency": "EUR"}',
    }


async def test_extract_with_anthropic_forces_a_tool_whose_input_is_the_schema(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/messages",
        Reply(
            200,
            {
                "model": "claude-sonnet-4",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "record_extraction",
                        "input": {"total": 3, "currency": "USD"},
                    }
                ],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 50, "output_tokens": 10},
            },
        ),
    )
    connection = await connect(studio, model_server, "anthropic")
    workflow = await studio.publish(
        [
            step(
                "llm.extract",
                connection,
                {"model": "claude-sonnet-4", "prompt": "3 USD", "schema": INVOICE_SCHEMA},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["ask"]["output"]["data"] == {"total": 3, "currency": "USD"}
    body = json.loads(model_server.hits("/v1/messages")[0].body)
    assert body["tool_choice"] == {"type": "tool", "name": "record_extraction"}
    assert body["tools"][0]["input_schema"] == INVOICE_SCHEMA


async def test_extract_fails_without_retrying_after_max_attempts_naming_the_path(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script("/v1/chat/completions", openai_reply('{"total": 12}'))
    connection = await connect(studio, model_server, "openai")
    workflow = await studio.publish(
        [
            step(
                "llm.extract",
                connection,
                {"model": "gpt-4o-mini", "prompt": "x", "schema": INVOICE_SCHEMA, "maxAttempts": 2},
                retry={"maxAttempts": 3, "initialIntervalSeconds": 0.1},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "after 2 attempts" in execution["error"]
    assert "'currency' is a required property" in execution["error"]
    assert len(model_server.hits("/v1/chat/completions")) == 2  # the step was not retried on top
    (usage,) = await studio.usage()
    assert usage["error"] == "ExtractionFailed"
    metered = usage["metadata"] if isinstance(usage["metadata"], dict) else json.loads(usage["metadata"])
    assert metered["totalTokens"] == 3000  # what the failed attempts cost is still counted


@pytest.mark.parametrize(
    ("provider", "path", "reply", "usage"),
    [
        (
            "openai",
            "/v1/embeddings",
            Reply(
                200,
                {
                    "object": "list",
                    "data": [
                        {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]},
                        {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
                    ],
                    "model": "text-embedding-3-small",
                    "usage": {"prompt_tokens": 8, "total_tokens": 8},
                },
            ),
            {"inputTokens": 8, "outputTokens": 0, "totalTokens": 8},
        ),
        (
            "gemini",
            "/v1beta/models/text-embedding-004:batchEmbedContents",
            Reply(200, {"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3, 0.4]}]}),
            {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
        ),
    ],
)
async def test_embed_returns_one_vector_per_text_in_order(
    studio: Studio,
    model_server: ScriptedServer,
    provider: str,
    path: str,
    reply: Reply,
    usage: dict[str, int],
) -> None:
    model_server.script(path, reply)
    connection = await connect(studio, model_server, provider)
    model = "text-embedding-3-small" if provider == "openai" else "text-embedding-004"
    workflow = await studio.publish(
        [step("llm.embed", connection, {"model": model, "input": ["cat", "dog"], "dimensions": 2})]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    output = execution["steps"]["ask"]["output"]
    assert output["embeddings"] == [[0.1, 0.2], [0.3, 0.4]]
    assert output["usage"] == usage
    body = json.loads(model_server.hits(path)[0].body)
    if provider == "openai":
        assert body == {"model": model, "input": ["cat", "dog"], "dimensions": 2}
    else:
        assert body["requests"][1] == {
            "model": f"models/{model}",
            "content": {"parts": [{"text": "dog"}]},
            "outputDimensionality": 2,
        }


async def test_a_refused_key_fails_once_with_the_providers_words_and_says_to_reconnect(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/messages",
        Reply(
            401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        ),
    )
    connection = await connect(studio, model_server, "anthropic")
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {"model": "claude-sonnet-4", "messages": [{"role": "user", "content": "hi"}]},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "invalid x-api-key" in execution["error"]
    assert "Reconnect" in execution["error"]
    assert len(model_server.hits("/v1/messages")) == 1
    assert [u["error"] for u in await studio.usage()] == ["AuthenticationFailed"]


async def test_gemini_refusing_the_key_with_a_400_fails_once_and_says_to_reconnect(
    studio: Studio, model_server: ScriptedServer
) -> None:
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    model_server.script(
        path,
        Reply(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
                    ],
                }
            },
        ),
    )
    connection = await connect(studio, model_server, "gemini")
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "API key not valid" in execution["error"]
    assert "Reconnect" in execution["error"]
    assert [u["error"] for u in await studio.usage()] == ["AuthenticationFailed"]


async def test_an_openai_account_out_of_credit_is_not_retried(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/chat/completions",
        Reply(
            429,
            {
                "error": {
                    "message": "You exceeded your current quota, please check your plan and billing details.",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
        ),
    )
    connection = await connect(studio, model_server, "openai")
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                retry={"maxAttempts": 3, "initialIntervalSeconds": 0.1},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "exceeded your current quota" in execution["error"]
    assert len(model_server.hits("/v1/chat/completions")) == 1
    assert [u["error"] for u in await studio.usage()] == ["QuotaExhausted"]


async def test_a_429_is_retried_after_the_delay_the_provider_asks_for(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/chat/completions",
        Reply(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"retry-after": "1"}),
        openai_reply("done"),
    )
    connection = await connect(studio, model_server, "openai")
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                retry={"maxAttempts": 3, "initialIntervalSeconds": 0.1},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["ask"]["output"]["text"] == "done"
    first, second = model_server.hits("/v1/chat/completions")
    assert second.at - first.at >= 0.9  # Retry-After, not the step's 0.1 s
    assert [u["error"] for u in await studio.usage()] == ["HTTP429", None]


async def test_a_server_error_is_retried_and_a_bad_request_is_not(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1beta/models/gemini-2.5-flash:generateContent",
        Reply(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "Invalid JSON payload received.",
                    "status": "INVALID_ARGUMENT",
                }
            },
        ),
    )
    connection = await connect(studio, model_server, "gemini")
    workflow = await studio.publish(
        [
            step(
                "llm.chat",
                connection,
                {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
                retry={"maxAttempts": 3, "initialIntervalSeconds": 0.1},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Invalid JSON payload received." in execution["error"]
    assert len(model_server.hits("/v1beta/models/gemini-2.5-flash:generateContent")) == 1


async def test_an_unknown_models_cost_is_null_and_a_connection_can_price_it(
    studio: Studio, model_server: ScriptedServer
) -> None:
    reply = openai_reply("hi")
    reply.body["model"] = "llama3.1:8b"
    model_server.script("/v1/chat/completions", reply)
    unpriced = await connect(studio, model_server, "openai")
    priced = await connect(studio, model_server, "openai", prices={"llama3.1": {"input": 1.0, "output": 2.0}})
    costs = []
    for connection in (unpriced, priced):
        workflow = await studio.publish(
            [
                step(
                    "llm.chat",
                    connection,
                    {"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}]},
                )
            ]
        )
        execution = await studio.run(workflow)
        assert execution["status"] == "SUCCESS", execution["error"]
        costs.append(execution["steps"]["ask"]["output"]["cost"]["usd"])
    assert costs == [None, 0.002]  # 1000 in at $1/M + 500 out at $2/M


async def test_an_azure_connection_without_its_deployment_is_refused_naming_the_field(studio: Studio) -> None:
    created = await studio.client.post(
        f"{studio.base}/connections",
        headers=studio.headers,
        json={
            "integrationId": "llm",
            "name": "azure",
            "credentials": {
                "provider": "azure_openai",
                "apiKey": KEY,
                "endpoint": "https://x.openai.azure.com",
            },
        },
    )
    assert created.status_code == 422, created.text
    assert "deployment" in created.text
    assert KEY not in created.text


@pytest.mark.parametrize(
    ("provider", "path", "header"),
    [
        ("openai", "/v1/models", "Authorization"),
        ("azure_openai", "/openai/models", "api-key"),
        ("anthropic", "/v1/models", "x-api-key"),
        ("gemini", "/v1beta/models", "x-goog-api-key"),
    ],
)
async def test_a_connection_is_checked_by_listing_the_providers_models(
    studio: Studio, model_server: ScriptedServer, provider: str, path: str, header: str
) -> None:
    model_server.script(path, Reply(200, {"data": []}))
    connection = await connect(studio, model_server, provider)
    tested = await studio.client.post(f"{studio.base}/connections/{connection}/test", headers=studio.headers)
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True
    (seen,) = model_server.hits(path)
    assert KEY in seen.headers[header]  # no tokens spent: nothing but the list was asked for
    assert model_server.requests == [seen]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_the_egress_guard_refuses_a_model_server_on_a_private_address(provider: str) -> None:
    integration = get_integration("llm")
    assert integration is not None
    spec = integration.actions["chat"]
    assert spec.run is not None
    server = ScriptedServer()
    try:
        server.script(PROVIDERS[provider]["path"], PROVIDERS[provider]["reply"])
        root = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}[provider]
        credentials = {"provider": provider, "apiKey": KEY, "baseUrl": server.base_url + root}
        async with outbound_client(OutboundPolicy()) as http:  # an empty allow-list
            ctx = integration.context(credentials, http, logging.getLogger("test"))
            data = spec.input_model.model_validate(
                {"model": MODELS[provider], "messages": [{"role": "user", "content": "hi"}]}
            )
            with pytest.raises(ActionError) as raised:
                await spec.run(data, ctx)
        assert raised.value.type == "BlockedAddress"
        assert not raised.value.retryable
        assert server.requests == []
    finally:
        server.close()


def test_every_example_of_the_llm_page_is_a_valid_step() -> None:
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)]
    steps = [b for b in blocks if isinstance(b, dict) and b.get("type") == "action"]
    assert {s["action"] for s in steps} == {"llm.chat", "llm.extract", "llm.embed"}
    validate_definition(
        {"triggerType": "MANUAL", "triggerConfig": {}, "steps": steps}, action_schema=action_input_schema
    )


def test_openai_reasoning_models_get_max_completion_tokens_and_compatible_servers_max_tokens() -> None:
    hello = [ChatMessage(role="user", content="hi")]
    assert request_body(Turn("o3-mini", hello, max_tokens=5))["max_completion_tokens"] == 5
    assert request_body(Turn("llama3.1:8b", hello, max_tokens=5))["max_tokens"] == 5


async def test_analytics_show_each_models_calls_tokens_and_cost_and_keep_them_once_aggregated(
    studio: Studio, model_server: ScriptedServer, settings: Settings, engine: AsyncEngine
) -> None:
    model_server.script("/v1/chat/completions", openai_reply("hi"))
    model_server.script(
        "/v1/messages",
        Reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
    )
    openai_connection = await connect(studio, model_server, "openai")
    anthropic_connection = await connect(studio, model_server, "anthropic")
    hello = [{"role": "user", "content": "hi"}]
    chat = await studio.publish(
        [step("llm.chat", openai_connection, {"model": "gpt-4o-mini", "messages": hello})]
    )
    for _ in range(2):
        assert (await studio.run(chat))["status"] == "SUCCESS"
    busy = await studio.publish(
        [
            step(
                "llm.chat",
                anthropic_connection,
                {"model": "claude-sonnet-4", "messages": hello},
                retry={"maxAttempts": 1},
            )
        ]
    )
    assert (await studio.run(busy))["status"] == "FAILED"
    await studio.usage()  # flushed

    async def report(**params: str) -> dict[str, Any]:
        answer = await studio.client.get(f"{studio.base}/analytics", headers=studio.headers, params=params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    expected = [
        {
            "provider": "openai",
            "model": "gpt-4o-mini-2024-07-18",
            "calls": 2,
            "errors": 0,
            "inputTokens": 2000,
            "outputTokens": 1000,
            "totalTokens": 3000,
            "costUsd": 0.0009,  # 2 x (1000 x $0.15 + 500 x $0.60) per million
            "unpricedCalls": 0,
        }
    ]
    assert (await report())["models"] == expected  # a call that failed before an answer used no tokens
    integrations = {i["integrationId"]: i for i in (await report())["integrations"]}
    assert (integrations["llm"]["calls"], integrations["llm"]["errors"]) == (3, 1)

    # Forty days later the raw records are folded into daily rows: the figures stay the same.
    for table in ("analytics_events", "integration_usage"):
        await studio.db.execute(f"UPDATE {table} SET timestamp = timestamp - interval '40 days'")
    then = datetime.now(UTC).date() - timedelta(days=40)
    window = {"from": (then - timedelta(days=1)).isoformat(), "to": then.isoformat()}
    assert (await report(**window))["models"] == expected
    await Retention(engine, PostgresLogStore(engine), settings).run()
    assert await studio.db.fetchval("SELECT count(*) FROM integration_usage") == 0
    assert (await report(**window))["models"] == expected
