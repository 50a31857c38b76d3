"""The integration SDK: declare an integration, its actions and its triggers with pydantic models.

An action is a pydantic `Input`, a pydantic `Output` and one async function; its JSON Schemas (what the
seed's `inputSchema`/`outputSchema`/`configSchema` columns hold) come from `model_json_schema()`, as
Prefect blocks derive theirs. A declaration without code is allowed (the catalogue shows it with
`isActive = false`) so the catalogue can list what is coming before it works.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_type_hints

import httpx
from pydantic import BaseModel, ConfigDict, Field

from core import oauth_providers
from core.execution_profiles import ExecutionProfile, profile_named
from core.models import AuthType, TriggerType
from integrations.context import ActionContext, ActionError

__all__ = ["ActionContext", "ActionError", "ActionSpec", "Integration", "OAuth2", "RateLimit", "TriggerSpec"]

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


ActionFunction = Callable[[Any, ActionContext], Awaitable[BaseModel]]


@dataclass(frozen=True)
class PolledItem:
    """One item a poll found: `id` is stable for the item (a feed entry's guid, a message id), so the
    poller fires once per id; `data` is the run's `trigger`."""

    id: str
    data: dict[str, Any]


@dataclass
class PollResult:
    """What a poll returns: the items it sees, oldest first, and the cursor for the next poll."""

    items: list[PolledItem]
    cursor: dict[str, Any] = field(default_factory=dict)


# async def poll(config: ConfigModel, ctx: ActionContext, cursor: dict) -> PollResult
PollFunction = Callable[[Any, ActionContext, dict[str, Any]], Awaitable[PollResult]]


@dataclass
class ActionSpec(Generic[In, Out]):
    integration_id: str
    key: str
    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    run: ActionFunction | None = None
    # False for reads: a retry may simply run them again. True: a retried step reuses the output of an
    # attempt that already acted (kept under the step's idempotency key) instead of acting twice. A function
    # of the validated input when it depends on it (http.request: not for GET).
    side_effects: bool | Callable[[Any], bool] = True
    # Run by the interpreter itself rather than as an activity (webhook.respond sets the run's reply).
    interpreted: bool = False
    # Where its activity runs (core.execution_profiles): its task queue, timeout, local or not, heartbeat.
    profile: str = "default"
    # Other profiles it runs on when its (raw, rendered) input asks for them, tried in order: a paginated
    # http.request runs on `long`, where it can heartbeat the pages it has.
    profile_when: Mapping[str, Callable[[dict[str, Any]], bool]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.integration_id}.{self.key}"

    @property
    def execution_profile(self) -> ExecutionProfile:
        return profile_named(self.profile)

    @property
    def profiles(self) -> frozenset[str]:
        """Every profile its activity may run on (the workers of their queues register it)."""
        return frozenset({self.profile, *self.profile_when})

    def profile_for(self, data: Any) -> ExecutionProfile:
        """The profile a call with this raw input runs on. Decided from code and the input alone, so
        the interpreter asks it deterministically."""
        if isinstance(data, dict):
            for name, applies in self.profile_when.items():
                if applies(data):
                    return profile_named(name)
        return self.execution_profile

    @property
    def is_implemented(self) -> bool:
        return self.run is not None or self.interpreted

    def acts(self, data: Any) -> bool:
        """Whether running it with this (validated) input changes something outside."""
        return self.side_effects(data) if callable(self.side_effects) else self.side_effects

    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()


@dataclass
class TriggerSpec:
    integration_id: str
    key: str
    name: str
    description: str
    trigger_type: TriggerType
    config_model: type[BaseModel]
    polling_interval: int | None = None
    # Set by the module that makes the trigger fire; until then it is declared only (inactive).
    implemented: bool = False
    # POLLING triggers: the function the poller calls with the stored cursor.
    poll: PollFunction | None = None

    @property
    def id(self) -> str:
        return f"{self.integration_id}.{self.key}"

    def config_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema()


@dataclass(frozen=True)
class OAuth2:
    """How an integration's OAuth2 authorization-code flow works (URLs overridable per installation)."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    scope_separator: str = " "
    extra_authorize_params: tuple[tuple[str, str], ...] = ()


def provider_oauth2(provider_id: str, scopes: tuple[str, ...]) -> OAuth2:
    """The OAuth2 flow of a provider of the shipped catalogue (core/oauth_providers.json: its URLs, PKCE,
    scope separator and authorize parameters) asking for `scopes`: the services of one provider (Google's
    Sheets and Drive) share its entry instead of repeating it."""
    provider = oauth_providers.load()[provider_id]
    if provider.authorize_url is None:
        raise ValueError(f"OAuth2 provider {provider_id!r} has no browser flow")
    return OAuth2(
        authorize_url=provider.authorize_url,
        token_url=provider.token_url,
        scopes=scopes,
        pkce=provider.pkce,
        scope_separator=provider.scope_separator,
        extra_authorize_params=tuple(provider.authorize_params.items()),
    )


class OAuth2Credentials(BaseModel):
    """What an OAuth2 integration's connection holds: the tokens of the authorize flow (refreshed by the
    runtime), or an access token pasted by hand; `baseUrl` for a national cloud or a test server."""

    model_config = ConfigDict(extra="allow")
    accessToken: str = Field(  # noqa: N815
        min_length=1, description="The authorize flow's access token, or one pasted by hand (a private app's)"
    )
    refreshToken: str | None = None  # noqa: N815
    baseUrl: str | None = Field(  # noqa: N815
        default=None, description="Another API address (a national cloud, a test server)"
    )


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` calls per connection in each `window_seconds` (the seed's `ratelimit:*` key); a
    connection may lower it. Over it, steps are delayed until the window resets, never failed."""

    limit: int
    window_seconds: int = 60


@dataclass
class Integration:
    """One service (the seed's `Integration` row) with the actions and triggers declared on it."""

    id: str
    name: str
    description: str
    icon: str
    category: str
    auth_type: AuthType
    is_popular: bool = False
    docs_url: str | None = None
    website_url: str | None = None
    actions: dict[str, ActionSpec[Any, Any]] = field(default_factory=dict)
    triggers: dict[str, TriggerSpec] = field(default_factory=dict)
    # What a connection to this service holds (validated on save, encrypted at rest).
    credentials_model: type[BaseModel] | None = None
    # Checks a connection against the service (POST .../test); raises ActionError when it fails.
    test: Callable[[ActionContext], Awaitable[None]] | None = None
    oauth2: OAuth2 | None = None
    # Where the service's API is; a connection's `baseUrl` or the INTEGRATION_BASE_URLS setting overrides it.
    base_url: str = ""
    rate_limit: RateLimit | None = None
    # A worked example (Markdown) for docs/integrations.md, where fields tables alone do not show the use.
    example: str = ""

    @property
    def is_active(self) -> bool:
        """Active when at least one of its actions or triggers works."""
        return any(a.is_implemented for a in self.actions.values()) or any(
            t.implemented for t in self.triggers.values()
        )

    def context(
        self,
        credentials: dict[str, Any],
        http: httpx.AsyncClient,
        logger: logging.Logger,
        *,
        base_urls: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ActionContext:
        """The context an action or poll of this integration runs with, its base URL resolved."""
        base_url = credentials.get("baseUrl") or (base_urls or {}).get(self.id) or self.base_url
        return ActionContext(
            credentials=credentials,
            http=http,
            logger=logger,
            base_url=str(base_url),
            idempotency_key=idempotency_key,
            service=self.name,
        )

    def action(
        self,
        key: str,
        *,
        name: str,
        description: str,
        side_effects: bool | Callable[[Any], bool] = True,
        profile: str = "default",
        profile_when: Mapping[str, Callable[[dict[str, Any]], bool]] | None = None,
    ) -> Callable[
        [Callable[[In, ActionContext], Awaitable[Out]]], Callable[[In, ActionContext], Awaitable[Out]]
    ]:
        """Decorates `async def run(data: Input, ctx: ActionContext) -> Output`; models from its hints.
        `profile`: where its activity runs (core.execution_profiles: "default", "long", "cpu");
        `profile_when`: other profiles, each for the raw inputs its predicate accepts."""
        for profile_name in (profile, *(profile_when or {})):
            profile_named(profile_name)  # an unknown profile fails at import, not in a run

        def register(
            function: Callable[[In, ActionContext], Awaitable[Out]],
        ) -> Callable[[In, ActionContext], Awaitable[Out]]:
            hints = get_type_hints(function)
            parameters = [v for k, v in hints.items() if k != "return"]
            if not parameters or "return" not in hints:
                raise TypeError(f"action {self.id}.{key} needs typed `input` and return annotations")
            self._add_action(
                ActionSpec(
                    self.id,
                    key,
                    name,
                    description,
                    parameters[0],
                    hints["return"],
                    function,
                    side_effects,
                    profile=profile,
                    profile_when=dict(profile_when or {}),
                )
            )
            return function

        return register

    def declare_action(
        self,
        key: str,
        *,
        name: str,
        description: str,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        interpreted: bool = False,
    ) -> ActionSpec[Any, Any]:
        """An action with schemas but no activity: run by the interpreter (`interpreted`), or not yet
        implemented (listed as inactive)."""
        return self._add_action(
            ActionSpec(
                self.id,
                key,
                name,
                description,
                input_model,
                output_model,
                side_effects=False,
                interpreted=interpreted,
            )
        )

    def trigger(
        self,
        key: str,
        *,
        name: str,
        description: str,
        trigger_type: TriggerType,
        config_model: type[BaseModel],
        polling_interval: int | None = None,
        implemented: bool = False,
        poll: PollFunction | None = None,
    ) -> TriggerSpec:
        if key in self.triggers:
            raise ValueError(f"trigger {self.id}.{key} is declared twice")
        if trigger_type == TriggerType.POLLING and poll is not None and not polling_interval:
            raise ValueError(f"polling trigger {self.id}.{key} needs a default polling_interval")
        spec = TriggerSpec(
            self.id,
            key,
            name,
            description,
            trigger_type,
            config_model,
            polling_interval,
            implemented or poll is not None,
            poll,
        )
        self.triggers[key] = spec
        return spec

    def _add_action(self, spec: ActionSpec[Any, Any]) -> ActionSpec[Any, Any]:
        if spec.key in self.actions:
            raise ValueError(f"action {spec.id} is declared twice")
        self.actions[spec.key] = spec
        return spec
