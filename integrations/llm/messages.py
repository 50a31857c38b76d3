"""The provider-neutral shapes of a model call: messages, tools, tool calls, token usage and a reply.

Each provider module translates a `Turn` into its own request and its answer back into a `Reply`, so the
actions (and later the agent step) never see a provider's wire format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A function call the model asked for; `arguments` parsed from the provider's JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] | None = Field(
        default=None, alias="toolCalls", description="On an assistant message: the calls it made"
    )
    tool_call_id: str | None = Field(
        default=None, alias="toolCallId", description="On a tool message: the call it answers"
    )
    name: str | None = Field(default=None, description="On a tool message: the tool's name")


class ToolSpec(BaseModel):
    """A function the model may call."""

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}, description="JSON Schema"
    )


class FunctionTool(BaseModel):
    """A tool in OpenAI's shape, `{"type": "function", "function": {...}}`, as many examples write it."""

    type: Literal["function"] = "function"
    function: ToolSpec


def tool_specs(tools: list[ToolSpec | FunctionTool]) -> list[ToolSpec]:
    return [tool.function if isinstance(tool, FunctionTool) else tool for tool in tools]


class Usage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    input_tokens: int = Field(default=0, alias="inputTokens")
    output_tokens: int = Field(default=0, alias="outputTokens")
    total_tokens: int = Field(default=0, alias="totalTokens")

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class Cost(BaseModel):
    usd: float | None = Field(default=None, description="Null when the model's price is unknown")


@dataclass
class Turn:
    """One request to a model."""

    model: str
    messages: list[ChatMessage]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    # Ask for JSON matching this schema (llm.extract).
    json_schema: dict[str, Any] | None = None
    stream: bool = False


@dataclass
class Reply:
    text: str
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: Usage
    model: str
    # What llm.extract reads when the provider answered structured data itself (Anthropic's forced tool).
    data: Any = None


def parse_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments: providers send a JSON text (OpenAI) or an object (Anthropic, Gemini)."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {"_raw": str(raw)}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}


def system_text(turn: Turn) -> str | None:
    """The system prompt and any system messages, for providers that take it apart from the messages."""
    parts = [turn.system] if turn.system else []
    parts += [m.content for m in turn.messages if m.role == "system" and m.content]
    return "\n\n".join(parts) or None
