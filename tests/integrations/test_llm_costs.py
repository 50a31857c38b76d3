"""What LLM calls cost: a model without a known price costs null unless its connection prices it, and the
analytics show each model's calls, tokens and cost, kept once the usage is aggregated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.integrations.llm_servers import connect, openai_reply, run_step, say_hi, step


async def test_an_unknown_models_cost_is_null_and_a_connection_can_price_it(
    studio: Studio, model_server: ScriptedServer
) -> None:
    reply = openai_reply("hi")
    reply.body["model"] = "llama3.1:8b"
    model_server.script("/v1/chat/completions", reply)
    data = {**say_hi("openai"), "model": "llama3.1:8b"}
    costs = []
    for credentials in ({}, {"prices": {"llama3.1": {"input": 1.0, "output": 2.0}}}):  # unpriced, priced
        execution = await run_step(studio, model_server, "openai", "llm.chat", data, credentials=credentials)
        assert execution["status"] == "SUCCESS", execution["error"]
        costs.append(execution["steps"]["ask"]["output"]["cost"]["usd"])
    assert costs == [None, 0.002]  # 1000 in at $1/M + 500 out at $2/M


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
    chat = await studio.publish([step("llm.chat", openai_connection, say_hi("openai"))])
    for _ in range(2):
        assert (await studio.run(chat))["status"] == "SUCCESS"
    busy = await studio.publish(
        [step("llm.chat", anthropic_connection, say_hi("anthropic"), retry={"maxAttempts": 1})]
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
