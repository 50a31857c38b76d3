"""Google's Gemini API: models/{model}:generateContent (and its SSE stream), :embedContent and
:batchEmbedContents. https://ai.google.dev/api/generate-content"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integrations.context import ActionContext
from integrations.llm.connection import DEFAULT_BASE_URLS
from integrations.llm.errors import post
from integrations.llm.messages import ChatMessage, Reply, ToolCall, Turn, Usage, system_text
from integrations.llm.streaming import server_sent_events

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
}


def _model_url(ctx: ActionContext, model: str, method: str) -> str:
    root = (ctx.base_url or DEFAULT_BASE_URLS["gemini"]).rstrip("/")
    name = model.removeprefix("models/")
    return f"{root}/models/{quote(name, safe='')}:{method}"


def models_url(ctx: ActionContext) -> str:
    return (ctx.base_url or DEFAULT_BASE_URLS["gemini"]).rstrip("/") + "/models"


def headers(ctx: ActionContext) -> dict[str, str]:
    return {"x-goog-api-key": ctx.secret("apiKey")}


def _contents(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # a call's id -> its function, for the answer (Gemini matches by name)
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "")
            part = {"functionResponse": {"name": name, "response": {"content": message.content}}}
            contents.append({"role": "user", "parts": [part]})
            continue
        parts: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
        for call in message.tool_calls or []:
            names[call.id] = call.name
            parts.append({"functionCall": {"name": call.name, "args": call.arguments}})
        contents.append({"role": "model" if message.role == "assistant" else "user", "parts": parts})
    return contents


def request_body(turn: Turn) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": _contents(turn.messages)}
    if system := system_text(turn):
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    if turn.temperature is not None:
        config["temperature"] = turn.temperature
    if turn.max_tokens is not None:
        config["maxOutputTokens"] = turn.max_tokens
    if turn.json_schema is not None:
        # responseJsonSchema takes JSON Schema as the step gives it (responseSchema only an OpenAPI subset).
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = turn.json_schema
    if config:
        body["generationConfig"] = config
    if turn.tools:
        body["tools"] = [
            {
                "functionDeclarations": [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in turn.tools
                ]
            }
        ]
    return body


def _usage(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    prompt, output = int(raw.get("promptTokenCount") or 0), int(raw.get("candidatesTokenCount") or 0)
    total = int(raw.get("totalTokenCount") or prompt + output)
    return Usage(input_tokens=prompt, output_tokens=output, total_tokens=total)


def parse_reply(bodies: list[dict[str, Any]], model: str) -> Reply:
    """One answer, or the chunks of a stream (each a GenerateContentResponse) in order."""
    text: list[str] = []
    calls: list[ToolCall] = []
    reason, usage, answered = "STOP", None, model
    for body in bodies:
        usage = body.get("usageMetadata") or usage
        answered = body.get("modelVersion") or answered
        for candidate in (body.get("candidates") or [])[:1]:
            reason = candidate.get("finishReason") or reason
            for part in (candidate.get("content") or {}).get("parts") or []:
                if "text" in part and not part.get("thought"):
                    text.append(str(part["text"]))
                if call := part.get("functionCall"):
                    calls.append(
                        ToolCall(
                            id=str(call.get("id") or f"call_{len(calls)}"),
                            name=str(call.get("name")),
                            arguments=call.get("args") or {},
                        )
                    )
    finish = "tool_calls" if calls else FINISH_REASONS.get(reason, reason.lower())
    return Reply(
        text="".join(text), tool_calls=calls, finish_reason=finish, usage=_usage(usage), model=answered
    )


def stream_text(_event: str, chunk: dict[str, Any]) -> str | None:
    """The text a streamed chunk adds (its candidates' text parts)."""
    return "".join(
        str(part.get("text") or "")
        for candidate in chunk.get("candidates") or []
        for part in (candidate.get("content") or {}).get("parts") or []
        if not part.get("thought")
    )


async def chat(ctx: ActionContext, turn: Turn) -> Reply:
    body = request_body(turn)
    if turn.stream:
        url = _model_url(ctx, turn.model, "streamGenerateContent")
        events = await server_sent_events(
            ctx, url, stream_text, json=body, headers=headers(ctx), params={"alt": "sse"}
        )
        return parse_reply([data for _, data in events], turn.model)
    response = await post(
        ctx, _model_url(ctx, turn.model, "generateContent"), json=body, headers=headers(ctx)
    )
    return parse_reply([response.json()], turn.model)


async def embed(
    ctx: ActionContext, model: str, texts: list[str], dimensions: int | None = None
) -> tuple[list[list[float]], Usage]:
    name = "models/" + model.removeprefix("models/")
    size = {"outputDimensionality": dimensions} if dimensions else {}
    if len(texts) == 1:
        response = await post(
            ctx,
            _model_url(ctx, model, "embedContent"),
            json={"model": name, "content": {"parts": [{"text": texts[0]}]}, **size},
            headers=headers(ctx),
        )
        return [list(response.json()["embedding"]["values"])], Usage()
    requests = [{"model": name, "content": {"parts": [{"text": text}]}, **size} for text in texts]
    response = await post(
        ctx,
        _model_url(ctx, model, "batchEmbedContents"),
        json={"requests": requests},
        headers=headers(ctx),
    )
    return [list(e["values"]) for e in response.json()["embeddings"]], Usage()
