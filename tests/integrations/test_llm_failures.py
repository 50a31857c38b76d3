"""How LLM steps fail and how LLM connections are checked, against local provider servers
(tests/integrations/llm_servers.py): a refused key or an exhausted account fails once and says what to do,
429s and server errors are retried (after the delay asked for), bad requests are not; a connection missing a
field is refused naming it and a saved one is checked by listing the provider's models."""

from __future__ import annotations

import pytest

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.integrations.llm_servers import KEY, PROVIDERS, connect, openai_reply, run_step, say_hi

RETRY = {"maxAttempts": 3, "initialIntervalSeconds": 0.1}


REFUSED_KEYS = {
    "anthropic": Reply(
        401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    ),
    "gemini": Reply(  # Gemini refuses a key with a 400
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
}


@pytest.mark.parametrize(
    ("provider", "words"), [("anthropic", "invalid x-api-key"), ("gemini", "API key not valid")]
)
async def test_a_refused_key_fails_once_with_the_providers_words_and_says_to_reconnect(
    studio: Studio, model_server: ScriptedServer, provider: str, words: str
) -> None:
    path = PROVIDERS[provider]["path"]
    model_server.script(path, REFUSED_KEYS[provider])
    execution = await run_step(studio, model_server, provider, "llm.chat", say_hi(provider))
    assert execution["status"] == "FAILED"
    assert words in execution["error"]
    assert "Reconnect" in execution["error"]
    assert len(model_server.hits(path)) == 1
    assert [u["error"] for u in await studio.usage()] == ["AuthenticationFailed"]


NOT_RETRIED = {
    "openai": (  # an account out of credit
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
        "exceeded your current quota",
        ["QuotaExhausted"],
    ),
    "gemini": (  # a bad request
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
        "Invalid JSON payload received.",
        ["HTTP400"],
    ),
}


@pytest.mark.parametrize("provider", list(NOT_RETRIED))
async def test_an_account_out_of_credit_and_a_bad_request_are_not_retried(
    studio: Studio, model_server: ScriptedServer, provider: str
) -> None:
    reply, words, usage = NOT_RETRIED[provider]
    path = PROVIDERS[provider]["path"]
    model_server.script(path, reply)
    execution = await run_step(studio, model_server, provider, "llm.chat", say_hi(provider), retry=RETRY)
    assert execution["status"] == "FAILED"
    assert words in execution["error"]
    assert len(model_server.hits(path)) == 1
    assert [u["error"] for u in await studio.usage()] == usage


async def test_a_429_is_retried_after_the_delay_the_provider_asks_for(
    studio: Studio, model_server: ScriptedServer
) -> None:
    model_server.script(
        "/v1/chat/completions",
        Reply(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"retry-after": "1"}),
        openai_reply("done"),
    )
    execution = await run_step(studio, model_server, "openai", "llm.chat", say_hi("openai"), retry=RETRY)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["ask"]["output"]["text"] == "done"
    first, second = model_server.hits("/v1/chat/completions")
    assert second.at - first.at >= 0.9  # Retry-After, not the step's 0.1 s
    assert [u["error"] for u in await studio.usage()] == ["HTTP429", None]


async def test_a_server_error_is_retried(studio: Studio, model_server: ScriptedServer) -> None:
    path = PROVIDERS["gemini"]["path"]
    model_server.script(
        path,
        Reply(500, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}),
        PROVIDERS["gemini"]["reply"],
    )
    execution = await run_step(studio, model_server, "gemini", "llm.chat", say_hi("gemini"), retry=RETRY)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert len(model_server.hits(path)) == 2


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
