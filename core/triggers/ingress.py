"""The webhook ingress use case: one call to `/hooks/{token}`, from the token to the run it starts.

The route gives a `HookCall` (what HTTP carried) and maps the outcome back to HTTP:

- `Accepted`: a run was started (202), or, in sync mode, `reply` is its answer;
- `Debounced`: the call went to its key's debouncer (a debounced webhook): one run per burst, started
  `seconds` after its last call, with that call's trigger (202, no execution yet);
- `Replayed`: the call was seen before (the same `Idempotency-Key`, or a signed call's message id or
  signature): the first run's id (none for a debounced webhook's call), nothing started (202 with
  Idempotent-Replayed);
- `Refused`: the call starts nothing, with the status, error kind, detail and headers to answer (an unknown
  token, a method the workflow does not take, a rate limit or the monthly quota, a missing or wrong
  signature, a query string on a signed webhook, a bad Idempotency-Key).

A webhook whose secret is a basic password or a header token (core.triggers.inbound_auth) takes a query
string (the credential vouches for the whole call) and has no replay key: its calls' Idempotency-Key
works as on an unsigned webhook.

Order: token, method, rate limit, signature (a call is counted in the webhook's stats only once it
passes); on a debounced webhook, a signed call's replay claim then the debouncer; else the idempotency
claim (kept when the start fails, so the sender's retry starts the run under the same id; released only
when the monthly quota refused it), start, sync reply.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from core.contract import responds_before_the_end
from core.errors import LimitExceeded
from core.outages import best_effort
from core.quotas import month_start, next_month
from core.ratelimit import Verdict, hit
from core.redis_keys import RedisKeys
from core.runs import RunService, StartRequest, SyncReply
from core.settings import Settings
from core.triggers.debounce import debounce
from core.triggers.inbound_auth import authenticate, hidden_header, signs_content
from core.triggers.signatures import SignatureRefused
from core.triggers.throttle import book, throttle_key
from core.triggers.webhooks import HookTarget, Webhooks

MAX_IDEMPOTENCY_KEY = 255
# What a signed call handed to a debouncer claims its replay key with: there is no execution id yet.
DEBOUNCED_CLAIM = "debounced"


@dataclass(frozen=True)
class HookCall:
    token: str
    method: str
    headers: Mapping[str, str]  # looked up case-insensitively (Starlette's request headers)
    query: str  # the raw query string
    body: bytes
    # the run's `trigger` ({body, headers, query, method}), built only for a call that will start one
    trigger: Callable[[], dict[str, Any]]
    # a call that carries files (a multipart upload, a binary body): keeps them as the files of the run
    # (workspace id, execution id) and answers what they add to its trigger (`files`, a form's `body`)
    attach: Callable[[str, str], Awaitable[dict[str, Any]]] | None = None
    # the run's execution id, chosen by the caller (a chat subscribes to the run's events before it starts)
    execution_id: str | None = None
    # False: answer once the run is started, whatever the webhook's mode (a chat waits for its answer itself)
    sync: bool | None = None


@dataclass(frozen=True)
class Accepted:
    execution_id: str
    reply: SyncReply | None = None  # sync mode: the run's answer (or "pending" past syncTimeoutSeconds)
    workspace_id: str | None = None  # sync mode: whose files the reply may serve (core.files)


@dataclass(frozen=True)
class Debounced:
    """Held by the key's debouncer: the burst's run starts `seconds` after its last call."""

    debouncer: str
    seconds: float


@dataclass(frozen=True)
class Replayed:
    execution_id: str | None  # None: the first call went to a debouncer, whose run starts later


@dataclass(frozen=True)
class Refused:
    status: int
    kind: str
    detail: str
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Outcome = Accepted | Debounced | Replayed | Refused


class WebhookIngress:
    def __init__(
        self,
        webhooks: Webhooks,
        redis: Redis,
        keys: RedisKeys,
        settings: Settings,
        run_service: Callable[[], Awaitable[RunService]],
    ) -> None:
        self._webhooks = webhooks
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._run_service = run_service

    async def receive(self, call: HookCall) -> Outcome:
        target = await self._webhooks.target(call.token)
        if target is None or not target.is_active:
            return Refused(
                404, "not_found", "no active webhook at this address (is the workflow published and active?)"
            )
        if call.method not in target.methods:
            return Refused(
                405,
                "method_not_allowed",
                f"this webhook accepts {', '.join(target.methods)}; add {call.method} to its trigger's "
                "`methods` to allow it",
                headers={"Allow": ", ".join(target.methods)},
            )
        if (limited := await self._rate_limited(call.token)) is not None:
            return limited
        key = self._signed(call, target)
        if isinstance(key, Refused):
            return key
        call = self._without_credential(call, target)
        await self._webhooks.count_call(target.webhook_id)
        if target.debounce is not None:
            if call.attach is not None:
                return Refused(
                    400,
                    "invalid_body",
                    "a debounced webhook takes no files (its run starts later, from the burst's last call): "
                    "send JSON, or turn debounce off",
                    path="body",
                )
            return await self._debounced(call, target, key)
        if key is None and (key := call.headers.get("idempotency-key")) is not None:
            if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
                return Refused(
                    400,
                    "invalid_body",
                    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
                    path="Idempotency-Key",
                )
        data = call.trigger()
        execution_id = call.execution_id or str(uuid.uuid4())
        if key is not None:
            first = await self._webhooks.claim_idempotency_key(target.webhook_id, key, execution_id)
            if first is not None:
                # The first call may have died between claiming the key and starting its run (a crash, a
                # deploy): make sure the run exists, under the id already answered. Nothing is counted or
                # written again when its row is there; Temporal starts a workflow id once.
                runs = await self._run_service()
                version = await runs.published_version(target.workflow_id)
                data = await with_files(call, data, target.workspace_id, first)
                await runs.start(
                    StartRequest(version, data, trigger_type="WEBHOOK", execution_id=first, idempotent=True)
                )
                return Replayed(first)
        data = await with_files(call, data, target.workspace_id, execution_id)
        delay = 0.0
        if target.throttle is not None:
            booked = await self._throttled(target, data)
            if isinstance(booked, Refused):
                if key is not None:  # nothing was started: the sender's retry may start it
                    await self._webhooks.release_idempotency_key(target.webhook_id, key)
                return booked
            delay = booked
        try:
            runs = await self._run_service()
            version = await runs.published_version(target.workflow_id)
            await runs.start(
                StartRequest(
                    version, data, trigger_type="WEBHOOK", execution_id=execution_id, start_delay=delay
                )
            )
        except LimitExceeded as exc:
            if key is not None:  # nothing was started: the sender's retry after the reset starts afresh
                await self._webhooks.release_idempotency_key(target.webhook_id, key)
            return quota_exceeded(exc)
        # Any other failure keeps the key: the start may have written its PENDING row before the failure
        # (a commit whose answer was lost to an outage), and a retry under a new id would leave that row
        # behind. The sender's retry with the key takes the replay path above, which starts the run under
        # the first id if it is not there yet.
        if target.mode != "sync" or call.sync is False:
            return Accepted(execution_id)
        early = responds_before_the_end(version.definition.get("steps"))
        return Accepted(
            execution_id,
            await runs.reply(execution_id, target.sync_timeout_seconds, early=early),
            workspace_id=target.workspace_id,
        )

    async def _debounced(self, call: HookCall, target: HookTarget, replay_key: str | None) -> Outcome:
        """Hands the call to its key's debouncer. A signed call claims its replay key first: sent again, a
        captured call would otherwise join a burst for ever (a GitHub signature carries no time), each
        time putting the run off and making its trigger the burst's last. An unsigned webhook's
        Idempotency-Key is not claimed: a repeated call is only the burst's last call again."""
        assert target.debounce is not None
        if replay_key is not None:
            first = await self._webhooks.claim_idempotency_key(target.webhook_id, replay_key, DEBOUNCED_CLAIM)
            if first is not None:
                return Replayed(None if first == DEBOUNCED_CLAIM else first)
        try:
            runs = await self._run_service()
            debouncer = await debounce(
                runs.client,
                runs.settings,
                target.workflow_id,
                target.workspace_id,
                target.debounce,
                call.trigger(),
            )
        except BaseException:
            if replay_key is not None:  # nothing holds the call: the sender's retry may hand it over
                await self._webhooks.release_idempotency_key(target.webhook_id, replay_key)
            raise
        return Debounced(debouncer, float(target.debounce["seconds"]))

    async def _throttled(self, target: HookTarget, data: Any) -> float | Refused:
        """The start delay the workflow's throttle gives this call (seconds), or its 429."""
        config = target.throttle or {}
        prefix = self._keys.trigger_throttle(target.workflow_id, throttle_key(config, data))
        delay = config.get("onLimit", "delay") == "delay" and target.mode != "sync"
        booked = await book(self._redis, prefix, config, now_ms=int(time.time() * 1000), delay=delay)
        if booked.allowed:
            return booked.delay_seconds
        return Refused(
            429,
            "throttled",
            f"this workflow starts at most {config['limit']} runs every {config['windowSeconds']} s"
            + (" for this key" if config.get("key") else "")
            + "; retry after the time in Retry-After",
            headers={"Retry-After": str(int(booked.retry_after))},
        )

    async def _rate_limited(self, token: str) -> Refused | None:
        limit = self._settings.webhook_rate_limit_per_minute
        if not limit:
            return None
        verdict = await best_effort(  # Redis out of reach: calls go through unlimited until it is back
            hit(self._redis, self._keys.webhook_rate_limit(token), limit=limit, window_seconds=60),
            Verdict(True, limit, 0.0),
            "the webhook rate limit",
        )
        if verdict.allowed:
            return None
        return Refused(
            429,
            "rate_limited",
            f"this webhook takes at most {limit} calls a minute (WEBHOOK_RATE_LIMIT_PER_MINUTE); retry after "
            "the time in Retry-After",
            headers={"Retry-After": str(math.ceil(verdict.retry_after) or 1)},
        )

    def _signed(self, call: HookCall, target: HookTarget) -> str | Refused | None:
        """The replay key of a signed call (None when the webhook has no secret), or why it is refused."""
        secret = self._webhooks.secret_of(target)
        if secret is None:
            return None
        if call.query and signs_content(target.signature_scheme):
            return Refused(
                400,
                "unsigned_query",
                "this webhook is signed and no signature covers the URL: send the values in the body, not in "
                "the query string",
                path="query",
            )
        tolerance = self._settings.webhook_signature_tolerance_seconds
        try:
            return authenticate(
                target.signature_scheme, secret, call.body, call.headers, time.time(), tolerance
            )
        except SignatureRefused as exc:
            return Refused(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": exc.challenge})

    def _without_credential(self, call: HookCall, target: HookTarget) -> HookCall:
        """The call with the header that carries the secret itself (the `header` scheme's) left out of the
        run's trigger data, where it would sit in clear in the run's history."""
        secret = self._webhooks.secret_of(target)
        hidden = hidden_header(target.signature_scheme, secret) if secret is not None else None
        if hidden is None:
            return call
        build, name = call.trigger, hidden.lower()

        def trigger() -> dict[str, Any]:
            data = build()
            headers = data.get("headers") or {}
            data["headers"] = {k: v for k, v in headers.items() if k.lower() != name}
            return data

        return replace(call, trigger=trigger)


async def with_files(
    call: HookCall, data: dict[str, Any], workspace_id: str, execution_id: str
) -> dict[str, Any]:
    """The trigger with the call's files kept as the run's (`trigger.files`); unchanged without files."""
    if call.attach is None:
        return data
    return {**data, **await call.attach(workspace_id, execution_id)}


def quota_exceeded(exc: LimitExceeded) -> Refused:
    """429, not 403: a webhook sender retries later, when the quota resets."""
    now = datetime.now(UTC)
    wait = int((next_month(month_start(now)) - now).total_seconds()) + 1
    return Refused(429, exc.kind, exc.detail, headers={"Retry-After": str(wait)})
