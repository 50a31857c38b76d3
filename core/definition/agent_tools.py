"""An agent step's tools and memory (the `agent` step itself is in core.definition.steps): a tool is a Baton
action, a published workflow or an MCP server's tool; memory is the conversation kept per session key."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from core.definition.base import ACTION_NAME_PATTERN, DefinitionModel

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


class McpTool(DefinitionModel):
    """One tool of an MCP server (called through the `mcp.call_tool` action)."""

    url: str = Field(min_length=1, examples=["https://mcp.example.com/mcp"])
    tool: str = Field(min_length=1, description="The tool's name on the server")


class AgentTool(DefinitionModel):
    """A function an agent's model may call: a Baton action, a published workflow, or an MCP tool."""

    name: str = Field(pattern=TOOL_NAME_PATTERN, description="The function name the model calls")
    description: str = Field(default="", max_length=4000, description="What the model is told it does")
    action: str | None = Field(default=None, pattern=ACTION_NAME_PATTERN, examples=["http.request"])
    workflow_id: str | None = Field(default=None, description="A published workflow run as a subworkflow")
    mcp: McpTool | None = None
    connection_id: str | None = Field(default=None, description="The action's (or MCP server's) connection")
    input: dict[str, Any] | None = Field(
        default=None,
        description="The action's input (the subworkflow's trigger data), expressions allowed: `item` is the "
        "model's arguments, `index` the call's number. Without it the arguments are the input",
    )
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the arguments; by default the action's input schema (required with "
        "`input`)",
    )
    require_approval: bool = Field(
        default=False,
        description="The run waits on each call until a person approves it (the arguments shown, editable) "
        "or rejects it (the model is told)",
    )
    approvers: list[str] | None = Field(default=None, description="User ids allowed to decide (any member)")

    @model_validator(mode="after")
    def _one_target(self) -> AgentTool:
        targets = [self.action is not None, self.workflow_id is not None, self.mcp is not None]
        if sum(targets) != 1:
            raise ValueError("give exactly one of `action`, `workflowId` or `mcp`")
        if self.input is not None and self.parameters is None and self.action is not None:
            raise ValueError("a tool with an `input` describes the model's arguments in `parameters`")
        return self


class AgentMemory(DefinitionModel):
    """The conversation kept between runs under a session key, in the workspace's data store."""

    session_key: str = Field(
        min_length=1, description="Expression or text naming the conversation (a chat's session id)"
    )
    max_messages: int = Field(default=50, ge=2, le=1000, description="Kept: the last N messages")
    max_tokens: int | None = Field(
        default=None, gt=0, description="Kept: at most about this many tokens (4 characters a token)"
    )
