"""Baton's own trigger kinds (webhook, schedule, manual) listed in the catalogue like any integration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.definition.triggers import ManualTriggerConfig, ScheduleTriggerConfig, WebhookTriggerConfig
from core.models import AuthType, TriggerType
from integrations.sdk import Integration

ICON_BASE = "/static/icons"


def builtin(
    id: str,  # noqa: A002 (the catalogue's field name)
    name: str,
    description: str,
    trigger: tuple[str, str, str],
    trigger_type: TriggerType,
    config_model: type[BaseModel],
    *,
    is_popular: bool = True,
) -> Integration:
    """One of Baton's own trigger kinds: a core integration, no connection, with its one trigger
    (`trigger`: its key, name and description), implemented by Baton itself."""
    integration = Integration(
        id=id,
        name=name,
        description=description,
        icon=f"{ICON_BASE}/{id}.svg",
        category="core",
        auth_type=AuthType.NONE,
        is_popular=is_popular,
    )
    key, trigger_name, trigger_description = trigger
    integration.trigger(
        key,
        name=trigger_name,
        description=trigger_description,
        trigger_type=trigger_type,
        config_model=config_model,
        implemented=True,
    )
    return integration


webhook = builtin(
    "webhook",
    "Webhook",
    "Start a workflow when an HTTP request reaches its unique URL",
    ("catch", "Catch Webhook", "Triggers on each HTTP request to the workflow's webhook URL"),
    TriggerType.WEBHOOK,
    WebhookTriggerConfig,
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

schedule = builtin(
    "schedule",
    "Schedule",
    "Start a workflow on a cron expression or a fixed interval",
    ("every", "On a Schedule", "Triggers on each cron tick or interval, in the configured time zone"),
    TriggerType.SCHEDULE,
    ScheduleTriggerConfig,
)
manual = builtin(
    "manual",
    "Manual",
    "Start a workflow by hand, from the API or the UI, with a payload",
    ("run", "Run Manually", "Triggers when someone runs the workflow"),
    TriggerType.MANUAL,
    ManualTriggerConfig,
    is_popular=False,
)
