"""Baton's own trigger kinds (webhook, schedule, manual) listed in the catalogue like any integration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.definition.triggers import ManualTriggerConfig, ScheduleTriggerConfig, WebhookTriggerConfig
from core.models import AuthType, TriggerType
from integrations.sdk import Integration

ICON_BASE = "/static/icons"

webhook = Integration(
    id="webhook",
    name="Webhook",
    description="Start a workflow when an HTTP request reaches its unique URL",
    icon=f"{ICON_BASE}/webhook.svg",
    category="core",
    auth_type=AuthType.NONE,
    is_popular=True,
)
webhook.trigger(
    "catch",
    name="Catch Webhook",
    description="Triggers on each HTTP request to the workflow's webhook URL",
    trigger_type=TriggerType.WEBHOOK,
    config_model=WebhookTriggerConfig,
    implemented=True,
)


class RespondInput(BaseModel):
    status: int | str = Field(default=200, description="HTTP status (100-599, or an expression)")
    headers: dict[str, str] = Field(default_factory=dict, description="Response headers")
    body: Any = Field(default=None, description="JSON body (or text)")
    file: Any = Field(default=None, description="A file (FileRef) answered instead of the body")


class RespondOutput(BaseModel):
    status: int
    headers: dict[str, str]
    body: Any = None
    file: Any = None


webhook.declare_action(
    "respond",
    name="Respond to Webhook",
    description="Answer the HTTP request of a sync webhook now (a `respond` step); the run goes on",
    input_model=RespondInput,
    output_model=RespondOutput,
    interpreted=True,
)

schedule = Integration(
    id="schedule",
    name="Schedule",
    description="Start a workflow on a cron expression or a fixed interval",
    icon=f"{ICON_BASE}/schedule.svg",
    category="core",
    auth_type=AuthType.NONE,
    is_popular=True,
)
schedule.trigger(
    "every",
    name="On a Schedule",
    description="Triggers on each cron tick or interval, in the configured time zone",
    trigger_type=TriggerType.SCHEDULE,
    config_model=ScheduleTriggerConfig,
    implemented=True,
)

manual = Integration(
    id="manual",
    name="Manual",
    description="Start a workflow by hand, from the API or the UI, with a payload",
    icon=f"{ICON_BASE}/manual.svg",
    category="core",
    auth_type=AuthType.NONE,
)
manual.trigger(
    "run",
    name="Run Manually",
    description="Triggers when someone runs the workflow",
    trigger_type=TriggerType.MANUAL,
    config_model=ManualTriggerConfig,
    implemented=True,
)
