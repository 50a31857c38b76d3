"""Slack: post messages to channels (the seed's second example integration)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.sdk import Integration, OAuth2

slack = Integration(
    id="slack",
    name="Slack",
    description="Send messages to Slack",
    icon="/static/icons/slack.svg",
    category="communication",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://api.slack.com/methods/chat.postMessage",
    website_url="https://slack.com",
    oauth2=OAuth2(
        authorize_url="https://slack.com/oauth/v2/authorize",
        token_url="https://slack.com/api/oauth.v2.access",
        scopes=("chat:write", "channels:read"),
        pkce=False,
        scope_separator=",",
    ),
)


class SendMessageInput(BaseModel):
    channel: str = Field(description="Channel id or name, e.g. #general", examples=["#general"])
    text: str = Field(description="Message text (mrkdwn); the notification fallback when blocks are given")
    blocks: list[dict[str, Any]] | None = Field(default=None, description="Block Kit blocks")
    thread_ts: str | None = Field(default=None, description="Reply in this thread")


class SendMessageOutput(BaseModel):
    ok: bool
    channel: str
    ts: str


slack.declare_action(
    "send_message",
    name="Send Message",
    description="Post a message to a channel or a thread",
    input_model=SendMessageInput,
    output_model=SendMessageOutput,
)
