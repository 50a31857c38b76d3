"""Anthropic's Messages API: https://docs.anthropic.com/en/api/messages (and its streaming events)."""

from __future__ import annotations

from typing import Any

from integrations.context import ActionContext, ActionError
from integrations.llm.connection import DEFAULT_BASE_URLS
from integrations.llm.errors import post
from integrations.llm.messages import ChatMessage, Reply, ToolCall, Turn, Usage, parse_arguments, system_text
from integrations.llm.streaming import server_sent_events

# Anthropic requires max_tokens; this is what a step without maxTokens gets.
DEFAULT_MAX_TOKENS = 4096
EXTRACT_TOOL = "record_extraction"
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


def headers(ctx: ActionContext) -> dict[str, str]:
    return {
        "x-api-key": ctx.secret("apiKey"),
        "anthropic-version": str(ctx.credentials.get("anthropicVersion") or "2023-06-01"),
    }


def _url(ctx: ActionContext, path: str) -> str:
    return (ctx.base_url or DEFAULT_BASE_URLS["anthropic"]).rstrip("/") + path


def models_url(ctx: ActionContext) -> str:
    return _url(ctx, "/v1/models")


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        block = {"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content}
        return {"role": "user", "content": [block]}
    if message.role == "assistant" and message.tool_calls:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in message.tool_calls
        ]
        return {"role": "assistant", "content": blocks}
    return {"role": message.role, "content": message.content}


def request_body(turn: Turn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": turn.model,
        "max_tokens": turn.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [_message(m) for m in turn.messages if m.role != "system"],
    }
    if system := system_text(turn):
        body["system"] = system
    if turn.temperature is not None:
        body["temperature"] = turn.temperature
    tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in turn.tools]
    if turn.json_schema is not None:
        # Anthropic has no JSON mode: a tool whose input is the schema, which the model must call.
        tools.append(
            {
                "name": EXTRACT_TOOL,
                "description": "Record the extracted data.",
                "input_schema": turn.json_schema,
            }
        )
        body["tool_choice"] = {"type": "tool", "name": EXTRACT_TOOL}
    if tools:
        body["tools"] = tools
    if turn.stream:
        body["stream"] = True
    return body


def _usage(raw: dict[str, Any]) -> Usage:
    read = int(raw.get("input_tokens") or 0) + int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    output = int(raw.get("output_tokens") or 0)
    return Usage(input_tokens=read + written, output_tokens=output, total_tokens=read + written + output)


def parse_reply(body: dict[str, Any], model: str) -> Reply:
    text, calls, data = [], [], None
    for block in body.get("content") or []:
        if block.get("type") == "text":
            text.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            if block.get("name") == EXTRACT_TOOL:
                data = block.get("input")
                continue
            calls.append(
                ToolCall(
                    id=str(block.get("id")), name=str(block.get("name")), arguments=block.get("input") or {}
                )
            )
    reason = str(body.get("stop_reason") or "end_turn")
    return Reply(
        text="".join(text),
        tool_calls=calls,
        finish_reason=FINISH_REASONS.get(reason, reason),
        usage=_usage(body.get("usage") or {}),
        model=str(body.get("model") or model),
        data=data,
    )


def assemble_stream(events: list[tuple[str, dict[str, Any]]], model: str) -> Reply:
    """The message that message_start, content_block_* and message_delta events add up to."""
    message: dict[str, Any] = {"content": [], "usage": {}, "model": model}
    partial: dict[int, str] = {}
    for name, event in events:
        if name == "error" or event.get("type") == "error":
            error = event.get("error") or {}
            raise ActionError(
                f"Anthropic's stream failed: {error.get('message') or error.get('type') or event}",
                type=f"Anthropic.{error.get('type', 'error')}",
            )
        kind = event.get("type")
        if kind == "message_start":
            started = event.get("message") or {}
            message.update({k: v for k, v in started.items() if k != "content"})
            message["usage"] = dict(started.get("usage") or {})
        elif kind == "content_block_start":
            message["content"].append(dict(event.get("content_block") or {}))
            partial[int(event.get("index", len(message["content"]) - 1))] = ""
        elif kind == "content_block_delta":
            index, delta = int(event.get("index", 0)), event.get("delta") or {}
            block = message["content"][index]
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + str(delta.get("text") or "")
            elif delta.get("type") == "input_json_delta":
                partial[index] += str(delta.get("partial_json") or "")
        elif kind == "content_block_stop":
            index = int(event.get("index", 0))
            if partial.get(index):
                message["content"][index]["input"] = parse_arguments(partial[index])
        elif kind == "message_delta":
            message["stop_reason"] = (event.get("delta") or {}).get("stop_reason")
            message["usage"].update(event.get("usage") or {})
    return parse_reply(message, model)


def stream_text(event: str, data: dict[str, Any]) -> str | None:
    """The text an event adds (a `content_block_delta` of type `text_delta`)."""
    delta = data.get("delta") or {}
    return str(delta.get("text") or "") if event == "content_block_delta" else None


async def chat(ctx: ActionContext, turn: Turn) -> Reply:
    body = request_body(turn)
    if turn.stream:
        url = _url(ctx, "/v1/messages")
        events = await server_sent_events(ctx, url, stream_text, json=body, headers=headers(ctx))
        return assemble_stream(events, turn.model)
    response = await post(ctx, _url(ctx, "/v1/messages"), json=body, headers=headers(ctx))
    return parse_reply(response.json(), turn.model)


async def embed(
    _ctx: ActionContext, _model: str, _texts: list[str], _dimensions: int | None = None
) -> tuple[list[list[float]], Usage]:
    raise ActionError(
        "Anthropic has no embeddings API; use an openai, azure_openai or gemini connection (or a "
        "Voyage AI server through an OpenAI-compatible baseUrl) for llm.embed",
        type="InvalidInput",
        retryable=False,
    )
