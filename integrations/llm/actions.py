"""The LLM actions: `llm.chat`, `llm.extract` (JSON validated against the step's JSON Schema with the
`jsonschema` library, the validation error sent back to the model until it answers right or the attempts
run out) and `llm.embed`; tokens and cost go on the output and on the call's usage record."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Self

from jsonschema import SchemaError, ValidationError, validators
from jsonschema.exceptions import best_match
from pydantic import BaseModel, ConfigDict, Field, model_validator

from integrations.context import ActionContext, ActionError
from integrations.llm import anthropic, gemini, openai
from integrations.llm.connection import llm, provider_of
from integrations.llm.messages import (
    ChatMessage,
    Cost,
    FunctionTool,
    Reply,
    ToolCall,
    ToolSpec,
    Turn,
    Usage,
    tool_specs,
)
from integrations.llm.pricing import cost_of

Chat = Callable[[ActionContext, Turn], Awaitable[Reply]]
Embed = Callable[[ActionContext, str, list[str], int | None], Awaitable[tuple[list[list[float]], Usage]]]
CHAT: dict[str, Chat] = {
    "openai": openai.chat,
    "azure_openai": openai.chat,
    "anthropic": anthropic.chat,
    "gemini": gemini.chat,
}
EMBED: dict[str, Embed] = {
    "openai": openai.embed,
    "azure_openai": openai.embed,
    "anthropic": anthropic.embed,
    "gemini": gemini.embed,
}


class ChatInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(min_length=1, examples=["gpt-4o-mini"], description="The model (Azure: any text)")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation, oldest first")
    system: str | None = Field(default=None, description="System prompt")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0, alias="maxTokens")
    tools: list[ToolSpec | FunctionTool] = Field(
        default_factory=list, description="Functions the model may call"
    )
    stream: bool = Field(
        default=False, description="Ask for a streamed answer (assembled before the step ends)"
    )


class ChatOutput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    text: str
    tool_calls: list[ToolCall] = Field(alias="toolCalls")
    finish_reason: str = Field(alias="finishReason", description="stop, length, tool_calls, content_filter")
    usage: Usage
    cost: Cost
    model: str
    provider: str


def _call_cost(ctx: ActionContext, model: str, answered: str, usage: Usage) -> Cost:
    cost = cost_of(answered, usage, ctx.credentials)
    return cost if cost.usd is not None else cost_of(model, usage, ctx.credentials)


def _meter(ctx: ActionContext, model: str, usage: Usage, cost: Cost) -> None:
    """Tokens and cost on the call's integration_usage record (its metadata)."""
    ctx.metered = {
        "provider": provider_of(ctx.credentials),
        "model": model,
        **usage.model_dump(by_alias=True),
        "costUsd": cost.usd,
    }


def _provider(ctx: ActionContext) -> str:
    provider = provider_of(ctx.credentials)
    if provider not in CHAT:
        raise ActionError(
            f"the LLM connection names an unknown provider {provider!r}",
            type="InvalidCredentials",
            retryable=False,
        )
    return provider


# A model's answer can take minutes (long prompts, reasoning models): the `long` profile runs it on its own
# queue, never as a local activity, kept alive by heartbeats.
@llm.action(
    "chat",
    name="Chat",
    description="Send messages to a model and get its answer or tool calls",
    profile="long",
)
async def chat(data: ChatInput, ctx: ActionContext) -> ChatOutput:
    provider = _provider(ctx)
    turn = Turn(
        data.model, data.messages, data.system, data.temperature, data.max_tokens, tool_specs(data.tools)
    )
    turn.stream = data.stream
    reply = await CHAT[provider](ctx, turn)
    cost = _call_cost(ctx, data.model, reply.model, reply.usage)
    _meter(ctx, reply.model, reply.usage, cost)
    return ChatOutput(
        text=reply.text,
        tool_calls=reply.tool_calls,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
        cost=cost,
        model=reply.model,
        provider=provider,
    )


class ExtractInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(min_length=1, examples=["gpt-4o-mini"])
    prompt: str | None = Field(default=None, description="The text to extract from, with instructions")
    messages: list[ChatMessage] | None = Field(default=None, description="Instead of prompt: a conversation")
    system: str | None = None
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema the answer must match")
    max_attempts: int = Field(default=3, ge=1, le=10, alias="maxAttempts")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0, alias="maxTokens")

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> Self:
        if not self.prompt and not self.messages:
            raise ValueError("give prompt or messages")
        return self


class ExtractOutput(BaseModel):
    data: Any = Field(description="The answer, valid against the schema")
    attempts: int
    usage: Usage
    cost: Cost
    model: str
    provider: str


def _json_of(reply: Reply) -> Any:
    if reply.data is not None:
        return reply.data
    text = reply.text.strip()
    if text.startswith("```"):  # models fence JSON even when asked not to
        text = text.split("\n", 1)[-1].rsplit("```", 1)[0]
    return json.loads(text)


@llm.action(
    "extract",
    name="Extract Data",
    description="Get JSON matching a JSON Schema from a model, retried until valid",
    profile="long",
)
async def extract(data: ExtractInput, ctx: ActionContext) -> ExtractOutput:
    provider = _provider(ctx)
    validator_class = validators.validator_for(data.json_schema)
    try:
        validator_class.check_schema(data.json_schema)
    except SchemaError as exc:
        raise ActionError(
            f"llm.extract: schema is not a valid JSON Schema: {exc.message}",
            type="InvalidInput",
            retryable=False,
        ) from exc
    validator = validator_class(data.json_schema)
    conversation = list(data.messages or [ChatMessage(role="user", content=data.prompt or "")])
    usage, model, error, path = Usage(), data.model, "", "$"
    for attempt in range(1, data.max_attempts + 1):
        turn = Turn(data.model, conversation, data.system, data.temperature, data.max_tokens)
        turn.json_schema = data.json_schema
        reply = await CHAT[provider](ctx, turn)
        usage, model = usage + reply.usage, reply.model
        try:
            answer = _json_of(reply)
        except ValueError as exc:
            error, path = f"the answer is not JSON ({exc})", "$"
        else:
            invalid: ValidationError | None = best_match(validator.iter_errors(answer))
            if invalid is None:
                cost = _call_cost(ctx, data.model, model, usage)
                _meter(ctx, model, usage, cost)
                return ExtractOutput(
                    data=answer, attempts=attempt, usage=usage, cost=cost, model=model, provider=provider
                )
            error, path = invalid.message, invalid.json_path
        said = reply.text if reply.data is None else json.dumps(reply.data)
        conversation += [
            ChatMessage(role="assistant", content=said or "(no answer)"),
            ChatMessage(
                role="user",
                content=f"That answer is invalid at {path}: {error}. Answer again with only the JSON, "
                "matching the schema.",
            ),
        ]
    _meter(ctx, model, usage, _call_cost(ctx, data.model, model, usage))
    raise ActionError(
        f"llm.extract: the model's answer did not match the schema after {data.max_attempts} attempts; "
        f"last error at {path}: {error}",
        type="ExtractionFailed",
        retryable=False,
        details={"attempts": data.max_attempts, "path": path, "error": error},
    )


class EmbedInput(BaseModel):
    model: str = Field(min_length=1, examples=["text-embedding-3-small"])
    input: str | list[str] = Field(description="A text, or a list of texts")
    dimensions: int | None = Field(
        default=None,
        gt=0,
        description="Shorter vectors, for models that can (OpenAI text-embedding-3, Gemini): a step's output "
        "is at most 256 KiB, about eight 1536-dimension vectors",
    )


class EmbedOutput(BaseModel):
    embeddings: list[list[float]] = Field(description="One vector per text, in order")
    usage: Usage
    cost: Cost
    model: str
    provider: str


@llm.action("embed", name="Embed Text", description="Turn texts into embedding vectors")
async def embed(data: EmbedInput, ctx: ActionContext) -> EmbedOutput:
    provider = _provider(ctx)
    texts = [data.input] if isinstance(data.input, str) else data.input
    if not texts:
        raise ActionError("llm.embed: input has no text", type="InvalidInput", retryable=False)
    vectors, usage = await EMBED[provider](ctx, data.model, texts, data.dimensions)
    cost = _call_cost(ctx, data.model, data.model, usage)
    _meter(ctx, data.model, usage, cost)
    return EmbedOutput(embeddings=vectors, usage=usage, cost=cost, model=data.model, provider=provider)


async def test_connection(ctx: ActionContext) -> None:
    """Lists the provider's models: it proves the key without spending tokens."""
    provider = _provider(ctx)
    if provider == "anthropic":
        await ctx.request("GET", anthropic.models_url(ctx), headers=anthropic.headers(ctx))
    elif provider == "gemini":
        await ctx.request("GET", gemini.models_url(ctx), headers=gemini.headers(ctx))
    else:
        url, headers, query = openai.endpoint(ctx, "models")
        await ctx.request("GET", url, headers=headers, params=query)


llm.test = test_connection
