"""`triggerConfig` by trigger type, as DEFINITION.md fixes it (camelCase field names on the wire)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class TriggerConfigModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
DEFAULT_METHODS: tuple[HttpMethod, ...] = ("POST",)


class WebhookTriggerConfig(TriggerConfigModel):
    """A run per HTTP call to `/hooks/{token}`."""

    methods: list[HttpMethod] = Field(default_factory=lambda: list(DEFAULT_METHODS), min_length=1)
    mode: Literal["async", "sync"] = Field(
        default="async",
        description="async: answer 202 once the run is durably started; sync: answer with the `respond` step",
    )
    sync_timeout_seconds: int = Field(default=30, ge=1, le=300)


class ScheduleTriggerConfig(TriggerConfigModel):
    """A run per cron tick or interval, in a time zone, with an overlap policy."""

    cron: str | None = Field(default=None, examples=["*/5 * * * *"])
    interval_seconds: int | None = Field(default=None, ge=1)
    timezone: str = Field(default="UTC", examples=["Europe/Paris"])
    overlap: Literal["skip", "buffer_one", "allow_all"] = "skip"

    @model_validator(mode="after")
    def _exactly_one_rhythm(self) -> ScheduleTriggerConfig:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of `cron` or `intervalSeconds`")
        return self


class PollingTriggerConfig(TriggerConfigModel):
    """A run per new item found by polling an integration's trigger."""

    trigger: str = Field(examples=["gmail.new_email"])
    config: dict[str, Any] = Field(default_factory=dict)
    connection_id: str | None = None
    polling_interval_seconds: int | None = Field(default=None, ge=10)


class ManualTriggerConfig(TriggerConfigModel):
    """Runs started from the API (`POST /workflows/{id}/run`) or the UI."""
