"""LLM chat end to end: published workflows call local servers that answer in each provider's documented
shapes (tests/integrations/llm_servers.py): text, tool calls and their results, SSE streams, usage and cost;
the egress guard in front of model servers; the examples of docs/llm.md. Extraction and embeddings, failures
and retries, costs and analytics have their own test_llm_*.py modules."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from core.definition.validation import validate_definition
from core.outbound import OutboundPolicy, outbound_client
from integrations.catalogue import action_input_schema, get_integration
from integrations.context import ActionError
from integrations.llm.messages import ChatMessage, Turn
from integrations.llm.openai import request_body
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.integrations.llm_servers import (
    KEY,
    MODELS,
    PROVIDERS,
    WEATHER_TOOL,
    run_step,
    say_hi,
    sse,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "llm.md"


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_chat_with_each_provider_returns_text_tool_calls_tokens_and_cost(
    studio: Studio, model_server: ScriptedServer, provider: str
) -> None:
    case = PROVIDERS[provider]
    model_server.script(case["path"], case["reply"])
    data = {
        "model": MODELS[provider],
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Weather in {{ trigger.city }}?"}],
        "temperature": 0.2,
        "maxTokens": 200,
        "tools": [WEATHER_TOOL],
    }
    execution = await run_step(studio, model_server, provider, "llm.chat", data, {"city": "Paris"})
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
        data = {"model": MODELS[provider], "messages": conversation}
        execution = await run_step(studio, model_server, provider, "llm.chat", data)
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
    data = {
        "model": MODELS[provider],
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
        "stream": True,
    }
    execution = await run_step(studio, model_server, provider, "llm.chat", data)
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
            data = spec.input_model.model_validate(say_hi(provider))
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
