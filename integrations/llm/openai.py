"""OpenAI's chat completions and embeddings, as OpenAI, Azure OpenAI and the OpenAI-compatible servers
(vLLM, Ollama, LM Studio) speak them. https://platform.openai.com/docs/api-reference/chat"""

from __future__ import annotations

import json
from typing import Any

from integrations.context import ActionContext
from integrations.llm.connection import DEFAULT_BASE_URLS
from integrations.llm.errors import post
from integrations.llm.messages import ChatMessage, Reply, ToolCall, Turn, Usage, parse_arguments
from integrations.llm.streaming import server_sent_events

FINISH_REASONS = {"function_call": "tool_calls"}
REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


def endpoint(ctx: ActionContext, operation: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url, headers, query) of an operation (`chat/completions`, `embeddings`) for this connection."""
    credentials = ctx.credentials
    if credentials.get("provider") == "azure_openai":
        root = str(credentials["endpoint"]).rstrip("/")
        # Listing models (the connection test) is per resource, everything else per deployment.
        where = "openai" if operation == "models" else f"openai/deployments/{credentials['deployment']}"
        url = f"{root}/{where}/{operation}"
        return url, {"api-key": ctx.secret("apiKey")}, {"api-version": str(credentials["apiVersion"])}
    root = (ctx.base_url or DEFAULT_BASE_URLS["openai"]).rstrip("/")
    headers = ctx.bearer("apiKey")
    if credentials.get("organization"):
        headers["OpenAI-Organization"] = str(credentials["organization"])
    return f"{root}/{operation}", headers, {}


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return out


def request_body(turn: Turn) -> dict[str, Any]:
    messages = [{"role": "system", "content": turn.system}] if turn.system else []
    body: dict[str, Any] = {"model": turn.model, "messages": messages + [_message(m) for m in turn.messages]}
    if turn.temperature is not None:
        body["temperature"] = turn.temperature
    if turn.max_tokens is not None:
        # OpenAI's reasoning models refuse max_tokens; the compatible servers know only max_tokens.
        reasoning = turn.model.startswith(REASONING_MODELS)
        body["max_completion_tokens" if reasoning else "max_tokens"] = turn.max_tokens
    if turn.tools:
        body["tools"] = [
            {"type": "function", "function": tool.model_dump(exclude_defaults=False)} for tool in turn.tools
        ]
    if turn.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "extraction", "schema": turn.json_schema},
        }
    if turn.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _usage(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    return Usage(
        input_tokens=prompt, output_tokens=completion, total_tokens=int(raw.get("total_tokens") or 0)
    )


def parse_reply(body: dict[str, Any], model: str) -> Reply:
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = [
        ToolCall(
            id=str(call.get("id") or f"call_{n}"),
            name=str(call.get("function", {}).get("name", "")),
            arguments=parse_arguments(call.get("function", {}).get("arguments")),
        )
        for n, call in enumerate(message.get("tool_calls") or [])
    ]
    reason = str(choice.get("finish_reason") or "stop")
    return Reply(
        text=message.get("content") or "",
        tool_calls=calls,
        finish_reason=FINISH_REASONS.get(reason, reason),
        usage=_usage(body.get("usage")),
        model=str(body.get("model") or model),
    )


def stream_text(_event: str, chunk: dict[str, Any]) -> str | None:
    """The text a streamed chunk adds (its choices' `delta.content`)."""
    return "".join((choice.get("delta") or {}).get("content") or "" for choice in chunk.get("choices") or [])


def assemble_stream(events: list[dict[str, Any]], model: str) -> Reply:
    """The reply that `stream: true` chunks add up to (content and tool-call argument deltas)."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    reason, usage, answered_model = "stop", None, model
    for chunk in events:
        answered_model = chunk.get("model") or answered_model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            text.append(delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            reason = choice.get("finish_reason") or reason
    return Reply(
        text="".join(text),
        tool_calls=[
            ToolCall(id=c["id"] or f"call_{n}", name=c["name"], arguments=parse_arguments(c["arguments"]))
            for n, c in sorted(calls.items())
        ],
        finish_reason=FINISH_REASONS.get(reason, reason),
        usage=_usage(usage),
        model=str(answered_model),
    )


async def chat(ctx: ActionContext, turn: Turn) -> Reply:
    url, headers, query = endpoint(ctx, "chat/completions")
    body = request_body(turn)
    if turn.stream:
        events = await server_sent_events(ctx, url, stream_text, json=body, headers=headers, params=query)
        return assemble_stream([data for _, data in events], turn.model)
    response = await post(ctx, url, json=body, headers=headers, params=query)
    return parse_reply(response.json(), turn.model)


async def embed(
    ctx: ActionContext, model: str, texts: list[str], dimensions: int | None = None
) -> tuple[list[list[float]], Usage]:
    url, headers, query = endpoint(ctx, "embeddings")
    body: dict[str, Any] = {"model": model, "input": texts}
    if dimensions:
        body["dimensions"] = dimensions
    response = await post(ctx, url, json=body, headers=headers, params=query)
    body = response.json()
    rows = sorted(body.get("data") or [], key=lambda row: int(row.get("index", 0)))
    usage = _usage(body.get("usage"))
    return [list(row["embedding"]) for row in rows], usage
