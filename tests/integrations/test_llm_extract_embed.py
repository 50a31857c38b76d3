"""llm.extract and llm.embed end to end against local provider servers (tests/integrations/llm_servers.py):
an answer checked against the schema and corrected once, Anthropic's forced tool, the attempts limit, and one
vector per text in order."""

from __future__ import annotations

import json

import pytest

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.integrations.llm_servers import INVOICE_SCHEMA, openai_reply, run_step


async def test_extract_sends_the_validation_error_back_and_succeeds_on_the_second_answer(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/chat/completions",
        openai_reply('{"total": "twelve", "currency": "EUR"}'),
        openai_reply('```json\n{"total": 12.5, "currency": "EUR"}\n```'),
    )
    data = {"model": "gpt-4o-mini", "prompt": "Invoice: {{ trigger.text }}", "schema": INVOICE_SCHEMA}
    execution = await run_step(
        studio, model_server, "openai", "llm.extract", data, {"text": "Total 12.50 EUR"}
    )
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
    data = {"model": "claude-sonnet-4", "prompt": "3 USD", "schema": INVOICE_SCHEMA}
    execution = await run_step(studio, model_server, "anthropic", "llm.extract", data)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["ask"]["output"]["data"] == {"total": 3, "currency": "USD"}
    body = json.loads(model_server.hits("/v1/messages")[0].body)
    assert body["tool_choice"] == {"type": "tool", "name": "record_extraction"}
    assert body["tools"][0]["input_schema"] == INVOICE_SCHEMA


async def test_extract_fails_without_retrying_after_max_attempts_naming_the_path(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script("/v1/chat/completions", openai_reply('{"total": 12}'))
    data = {"model": "gpt-4o-mini", "prompt": "x", "schema": INVOICE_SCHEMA, "maxAttempts": 2}
    retry = {"maxAttempts": 3, "initialIntervalSeconds": 0.1}
    execution = await run_step(studio, model_server, "openai", "llm.extract", data, retry=retry)
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
    model = "text-embedding-3-small" if provider == "openai" else "text-embedding-004"
    data = {"model": model, "input": ["cat", "dog"], "dimensions": 2}
    execution = await run_step(studio, model_server, provider, "llm.embed", data)
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
