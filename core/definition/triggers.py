"""`triggerConfig` by trigger type, as DEFINITION.md fixes it (camelCase field names on the wire)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from core.expressions import ExpressionError, compile_expression
from core.forms import Form


class TriggerConfigModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?#LW-]+")

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
DEFAULT_METHODS: tuple[HttpMethod, ...] = ("POST",)


def an_expression_or_none(value: str | None) -> str | None:
    """A `key` field's check: a `{{ }}` expression that compiles, or unset."""
    if value is not None:
        try:
            compile_expression(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from exc
    return value


# The `key` of a throttle, a concurrency limit or a debounce: an expression over the trigger, or unset.
KeyExpression = Annotated[str | None, AfterValidator(an_expression_or_none)]


class Throttle(TriggerConfigModel):
    limit: int = Field(ge=1, le=100_000, description="Runs that may start per window")
    window_seconds: int = Field(ge=1, le=86_400)
    key: KeyExpression = Field(
        default=None,
        description="Count per this value: an expression over the trigger ({{ trigger.body.customerId }})",
        examples=["{{ trigger.body.customerId }}"],
    )
    on_limit: Literal["delay", "reject"] = Field(
        default="delay", description="delay: the run starts in the next window with room; reject: 429"
    )


class Concurrency(TriggerConfigModel):
    """A workflow's concurrency limit: at most `limit` of its runs (per `key`) are past their start at once;
    the others wait, durably and in arrival order, and start as slots free up."""

    limit: int = Field(ge=1, le=10_000, description="Runs per key past their start at once")
    key: KeyExpression = Field(
        default=None,
        description="A limit per this value: an expression over the trigger ({{ trigger.body.customerId }}); "
        "unset, one limit for all the workflow's runs",
        examples=["{{ trigger.body.customerId }}"],
    )


class Debounce(TriggerConfigModel):
    """A burst of calls gives one run, with the last call, once no call has come for `seconds`."""

    seconds: float = Field(
        ge=1, le=86_400, description="Quiet time: the run starts this long after the last call"
    )
    key: KeyExpression = Field(
        default=None,
        description="A burst per this value: an expression over the trigger ({{ trigger.body.customerId }})",
        examples=["{{ trigger.body.customerId }}"],
    )


ORIGIN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"


class Chat(TriggerConfigModel):
    """The webhook is also a chat entry point, `POST /hooks/{token}/chat` with `{message, sessionId}`: a run
    per message (its trigger's `body`), answered with the run's answer (an agent step's `answer`), streamed
    as server-sent events when asked."""

    allowed_origins: list[Annotated[str, Field(pattern=ORIGIN)]] = Field(
        default_factory=list,
        max_length=50,
        description="The websites that may call the chat from a browser (CORS), as origins "
        "(`https://shop.example.com`); a call from any other origin is refused (403). Calls without an "
        "Origin (servers) are always taken",
        examples=[["https://shop.example.com"]],
    )


class WebhookTriggerConfig(TriggerConfigModel):
    """A run per HTTP call to `/hooks/{token}`."""

    methods: list[HttpMethod] = Field(default_factory=lambda: list(DEFAULT_METHODS), min_length=1)
    mode: Literal["async", "sync"] = Field(
        default="async",
        description="async: answer 202 once the run is durably started; sync: answer with the `respond` step",
    )
    sync_timeout_seconds: int = Field(default=30, ge=1, le=300)
    throttle: Throttle | None = Field(
        default=None,
        description="At most `limit` runs start per `windowSeconds` (per `key`); over it, runs start later "
        "(delayed, durably) or the call gets 429 (`onLimit: reject`; sync webhooks always reject)",
    )
    debounce: Debounce | None = Field(
        default=None,
        description="A burst of calls (per `key`) gives one run, with the last call's trigger, `seconds` "
        "after the last one (async webhooks only)",
    )

    form: Form | None = Field(
        default=None,
        description="A page Baton serves at /forms/{token} from these fields: a person fills it in, Baton "
        "checks each field and starts a run with the values as `trigger.body` (files in `trigger.files`)",
    )
    chat: Chat | None = Field(
        default=None,
        description="Also a chat: `POST /hooks/{token}/chat` takes `{message, sessionId}` and answers the "
        "run's answer, as JSON or streamed (Accept: text/event-stream)",
    )

    @model_validator(mode="after")
    def _debounce_is_async_alone(self) -> WebhookTriggerConfig:
        if self.form is not None and "POST" not in self.methods:
            raise ValueError("form: a form is sent with POST; add it to `methods`")
        if self.form is not None and self.debounce is not None:
            raise ValueError("form: each sent form is a run of its own; turn debounce off")
        if self.debounce is not None and self.chat is not None:
            raise ValueError("debounce: a chat answers each message with its run, which a burst has not yet")
        if self.debounce is not None and self.mode == "sync":
            raise ValueError(
                "debounce: a sync webhook answers with its run, which a debounced call has not yet"
            )
        if self.debounce is not None and self.throttle is not None:
            raise ValueError("debounce: give debounce or throttle, not both (a debounced burst is one run)")
        return self


class ScheduleTriggerConfig(TriggerConfigModel):
    """A run per cron tick or interval, in a time zone, with an overlap policy."""

    cron: str | None = Field(default=None, examples=["*/5 * * * *"])
    interval_seconds: int | None = Field(default=None, ge=1)
    timezone: str = Field(default="UTC", examples=["Europe/Paris"])
    overlap: Literal["skip", "buffer_one", "allow_all"] = Field(
        default="skip",
        description="When a run is still going at the next tick: skip the tick, keep one to run after, or "
        "run both",
    )
    catchup_window_seconds: int = Field(
        default=300,
        ge=10,
        le=7 * 86400,
        description="Ticks missed while Baton was down are still run if they are at most this old",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Paris)") from exc
        return value

    @field_validator("cron")
    @classmethod
    def _cron_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        text = value.strip()
        if text in CRON_MACROS:
            return text
        fields = text.split()
        if len(fields) not in (5, 6, 7) or not all(CRON_FIELD.fullmatch(f) for f in fields):
            raise ValueError(
                f"{value!r} is not a cron expression: give 5 fields (minute hour day month weekday), "
                "e.g. `*/5 * * * *`, or a macro like @hourly"
            )
        return text

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
    polling_interval_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Seconds between polls (at least MIN_POLLING_INTERVAL_SECONDS, 10 by default)",
    )
    fire_existing: bool = Field(
        default=False,
        description="Also run for the items already there on the first poll (by default the first poll only "
        "records them, like Zapier)",
    )


class McpServing(TriggerConfigModel):
    """A published workflow served as an MCP tool (api.mcp_server): calling it starts a run."""

    tool: bool = Field(default=True, description="Listed and callable as a tool")
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The tool's name (default: the workflow's name in snake_case)",
        examples=["create_invoice"],
    )
    description: str | None = Field(
        default=None, max_length=2000, description="What the tool does, for the model that chooses it"
    )
    wait_seconds: float = Field(
        default=20,
        ge=0,
        le=60,
        description="A call answers with the run's result when it ends within this time, else with its "
        "executionId to read later with the `get_run_result` tool",
    )


class ManualTriggerConfig(TriggerConfigModel):
    """Runs started from the API (`POST /workflows/{id}/run`) or the UI."""

    input_schema: dict[str, Any] | None = Field(
        default=None,
        description="The JSON Schema of the payload it is run with: an object's (an MCP tool's input schema, "
        "shown to the model that calls it)",
        examples=[{"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}],
    )
    mcp: McpServing | None = Field(
        default=None,
        description="Serve the published workflow as a tool of the workspace's MCP server "
        "(/api/v1/workspaces/{id}/mcp): a call runs it with the tool's arguments as its payload",
    )

    @field_validator("input_schema")
    @classmethod
    def _an_object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a JSON Schema: {exc.message}") from None
        if value.get("type") != "object":
            raise ValueError('a payload is an object: give `"type": "object"` and its properties')
        return value


def payload_problem(schema: dict[str, Any] | None, payload: Any) -> tuple[str, str] | None:
    """The first place (`a.b[0]`, "" for the payload itself) where `payload` breaks a MANUAL trigger's
    `inputSchema`, and why; None when it fits (or there is no schema)."""
    if not schema:
        return None
    error = next(iter(jsonschema.Draft202012Validator(schema).iter_errors(payload)), None)
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return where.lstrip("."), error.message
