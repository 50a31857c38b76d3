"""The action runtime: one Temporal activity per implemented catalogue action, named after it
(`slack.send_message`) so a run's history in the Temporal Web UI reads like the workflow.

Each call: validate the input; load the connection (credentials cached briefly, OAuth2 tokens refreshed
before they expire); take a slot of the seed's rate limit `ratelimit:{integrationId}:{connectionId}` (over
it, the attempt is retried when the window resets: delayed, never failed); call the service with an
idempotency key stable across the step's retries; record `integration_usage`; and write the step's
StepExecution row with the rows the interpreter buffered since the last write, in one transaction.

A step whose action has side effects keeps its output under its idempotency key once it has acted, so a
retry after a later failure (the row write, a lost worker) answers that output instead of acting twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from redis.asyncio import Redis
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.action_terms import effective_limit, idempotency_key, to_application_error, without_links
from activities.attempts import AttemptRow, StepRecorder, attempt_failure, next_attempt_state
from activities.connections import LoadedConnection, WorkerCredentials
from activities.heartbeats import heartbeat, kept_alive, resumed_from
from activities.metrics import observe_seconds
from core import oauth_grants
from core.blobs import create_blob_store
from core.contract import (
    MAX_OUTPUT_BYTES,
    RATE_LIMITED,
    UNAVAILABLE,
    UNAVAILABLE_RETRY_SECONDS,
    ActionRequest,
    StepRecord,
)
from core.logstore import BufferedWriter
from core.models import ExecutionStatus
from core.outages import best_effort, raise_if_cancelled, unavailable_store
from core.ratelimit import Verdict, hit
from core.redaction import NO_SECRETS, Secrets, redact, scrub
from core.redis_keys import RedisKeys
from core.runs import live
from core.runs.approval_links import RunLinks
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS
from integrations.context import AUTH_FAILED
from integrations.sdk import ActionContext, ActionError, ActionSpec, Integration

RESULT_SECONDS = 7 * 86400


class ActionActivities:
    """Built once per worker with its shared clients (HTTP connection pooling across all actions)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        recorder: StepRecorder | None = None,
        credentials: WorkerCredentials | None = None,
        *,
        redis: Redis | None = None,
        keys: RedisKeys | None = None,
        usage: BufferedWriter | None = None,
        base_urls: dict[str, str] | None = None,
        approval_links: RunLinks | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._http = http
        self._recorder = recorder
        self._credentials = credentials
        self._redis = redis
        self._keys = keys or RedisKeys()
        self._usage = usage
        self._base_urls = base_urls or {}
        self._approval_links = approval_links  # its secret and base URL; each call names its run
        self._settings = settings  # the bounds some actions read (ActionContext.settings)
        # where the files steps make and read are kept (core.files; BLOB_STORE_URL)
        self._blobs = create_blob_store(settings) if settings is not None else None

    def activities(self, profile: str | None = None) -> list[Callable[..., Awaitable[dict[str, Any]]]]:
        """Every action's activity, or those of one execution profile (the worker of its task queue)."""
        return [
            self._activity_for(integration, spec)
            for integration in INTEGRATIONS.values()
            for spec in integration.actions.values()
            if spec.run is not None and (profile is None or profile in spec.profiles)
        ]

    def _activity_for(
        self, integration: Integration, spec: ActionSpec[Any, Any]
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        logger = logging.getLogger(f"baton.action.{spec.id}")

        async def execute(request: ActionRequest) -> dict[str, Any]:
            info = activity.info()
            row: AttemptRow | None = None
            try:
                if self._recording(request):
                    assert self._recorder is not None
                    if request.started is not None:
                        # the run's start (core.contract.FIRST_WRITE_ENGINE), before the step's call: the
                        # run shows RUNNING while the step works
                        await self._recorder.run_started(request.started)
                        request = replace(request, started=None)
                    row = AttemptRow(self._recorder, request, info.attempt)
                    await row.begin()
                async with kept_alive(spec.profile_for(request.input)):
                    return await run_step(request, row)
            except Exception as exc:
                raise_if_cancelled()  # a cancelled attempt, not Redis being down
                if (store := unavailable_store(exc)) is not None:
                    # Not the step's fault: the interpreter waits and calls again without spending its
                    # retries.
                    failure = ApplicationError(
                        f"{spec.id}: Baton's {store} is unreachable ({exc}); the step runs again when it "
                        "answers",
                        {"retryAfter": UNAVAILABLE_RETRY_SECONDS},
                        type=UNAVAILABLE,
                        next_retry_delay=timedelta(seconds=UNAVAILABLE_RETRY_SECONDS),
                    )
                elif isinstance(exc, ApplicationError):
                    failure = exc
                else:  # what Temporal would make of it, with the attempt's figures added below
                    failure = ApplicationError(str(exc) or type(exc).__name__, type=type(exc).__name__)
                failure = attempt_failure(failure, info.attempt, datetime.now(UTC))
                if row is not None and failure.type != UNAVAILABLE:  # (after an outage: called again)
                    await self._note_failed_attempt(request, failure, info, not await row.settle())
                if isinstance(exc, ApplicationError):
                    raise failure from None  # the same failure, with the attempt's figures
                raise failure from exc
            finally:
                if row is not None:
                    row.stop()

        async def run_step(request: ActionRequest, row: AttemptRow | None) -> dict[str, Any]:
            # The approval links a run holds as stand-ins go out only in what the action sends: its row,
            # its output and its errors keep the stand-ins (core.runs.approval_links).
            sent, links = self._reveal_links(request)
            data = self._validated(spec, replace(request, input=sent))
            key = (
                idempotency_key(request.execution_id, request.step_key or request.step_id or "")
                if request.execution_id
                else None
            )
            acts = spec.acts(data)
            output = await self._earlier_result(spec, key) if acts else None
            credentials: dict[str, Any] = {}  # what the call used, redacted from the step's log entry
            if output is None:
                try:
                    output, credentials = await self._call(
                        integration, spec, request, data, key, logger, keep=acts, row=row
                    )
                except ApplicationError as failure:
                    raise without_links(failure, links) from None
            output = dict(links.hide(output))
            if request.record and self._recorder is not None and request.step_key and request.step_id:
                if not credentials and (loaded := await self._connection(request)) is not None:
                    credentials = loaded.credentials  # the output is an earlier attempt's
                record = StepRecord(
                    key=request.step_key,
                    step_id=request.step_id,
                    step_type="action",
                    status=ExecutionStatus.SUCCESS.value,
                    input=request.input,
                    output=output,
                    started_at=request.started_at,
                    completed_at=datetime.now(UTC).isoformat(),
                    retry_count=activity.info().attempt - 1,
                    sequence=request.sequence,
                )
                secrets = Secrets.of(credentials) if credentials else NO_SECRETS
                written = await row.settle() if row is not None else False
                await self._recorder.write_action_result(request, record, secrets, with_buffered=not written)
            return output

        return activity.defn(name=spec.id)(execute)

    def _reveal_links(self, request: ActionRequest) -> tuple[dict[str, Any], RunLinks]:
        if self._approval_links is None:
            return request.input, RunLinks("", "", None, {})
        links = replace(self._approval_links, execution_id=request.execution_id, shown={})
        sent, links = links.reveal(request.input)
        return sent, links

    def _recording(self, request: ActionRequest) -> bool:
        return bool(
            request.record
            and self._recorder is not None
            and request.execution_id
            and request.step_key
            and request.step_id
        )

    async def _note_failed_attempt(
        self, request: ActionRequest, failure: ApplicationError, info: activity.Info, with_buffered: bool
    ) -> None:
        """The step's row says what comes next: another attempt (when), or a wait for the rate limit; the
        rows buffered before the step are written if the attempt had not. The last attempt's failure is
        written by the interpreter, with the figures `attempt_failure` put on it. Best effort: the row is
        only a view of what Temporal holds."""
        assert self._recorder is not None
        state = next_attempt_state(failure, info)
        if state is None and not (with_buffered and request.records):
            return
        try:
            await self._recorder.attempt_failed(request, state, failure.message, with_buffered=with_buffered)
        except Exception as exc:  # the failure itself must reach Temporal
            activity.logger.warning("could not note the failed attempt of %s: %s", request.step_key, exc)

    @staticmethod
    def _validated(spec: ActionSpec[Any, Any], request: ActionRequest) -> Any:
        try:
            return spec.input_model.model_validate(request.input)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ApplicationError(
                f"{spec.id}: invalid input{f' at {where}' if where else ''}: {first['msg']}",
                type="InvalidInput",
                non_retryable=True,
            ) from exc

    async def _earlier_result(self, spec: ActionSpec[Any, Any], key: str | None) -> dict[str, Any] | None:
        """The output of an earlier attempt of this step that already acted. Looked for on every attempt,
        the first included: an action is a local activity, and a worker that replays a run after a crash
        starts its attempts again at 1 although the dead worker's attempt acted. Redis out of reach fails
        the attempt: acting without knowing could act twice."""
        if key is None or self._redis is None:
            return None
        raw = await self._redis.get(self._keys.action_result(key))
        if raw is None:
            return None
        activity.logger.info("%s already acted in an earlier attempt; reusing its output", spec.id)
        result: dict[str, Any] = json.loads(raw)
        return result

    async def _call(
        self,
        integration: Integration,
        spec: ActionSpec[Any, Any],
        request: ActionRequest,
        data: Any,
        key: str | None,
        logger: logging.Logger,
        *,
        keep: bool,
        row: AttemptRow | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Calls the service; `keep`: the output is kept under `key` so retries do not act again. Returns
        the output and the credentials the call used."""
        run = spec.run
        assert run is not None
        loaded = await self._connection(request)
        if loaded is not None:
            await self._take_rate_limit_slot(integration, loaded)
        context = integration.context(
            loaded.credentials if loaded else {},
            self._http,
            logger,
            base_urls=self._base_urls,
            idempotency_key=key,
        )
        context.workspace_id, context.execution_id = request.workspace_id, request.execution_id
        context.database = self._recorder.database if self._recorder is not None else None
        context.blobs = self._blobs
        context.on_heartbeat = heartbeat
        context.resumed, context.settings = resumed_from(), self._settings
        if row is not None:
            context.on_progress = lambda figures: row.progressed(live.progressing(figures))
        if self._redis is not None and request.execution_id:
            context.on_tokens = self._token_publisher(request, request.execution_id)
        began = time.perf_counter()
        error: str | None = None
        try:
            try:
                result = await run(data, context)
            except ActionError as exc:
                renewable = loaded is not None and oauth_grants.renewable(loaded.credentials)
                if exc.type != AUTH_FAILED or loaded is None or not renewable:
                    raise
                # The service refused a token it should have taken (revoked or expired early): get a fresh
                # one once (a refresh, or the client's own grant again), under the refresh lock, and retry.
                assert self._credentials is not None
                loaded = await self._credentials.connection(
                    loaded.id, request.workspace_id, refused_token=str(loaded.credentials.get("accessToken"))
                )
                context.credentials = loaded.credentials
                result = await run(data, context)
        except ActionError as exc:
            error = exc.type
            secrets = self._secrets(loaded, context)
            # Redacted like any output (and more: the excerpt of a service's error answer may echo the
            # request's token); the details are in Temporal's history and on the failed step's row.
            exc.message, exc.details = redact(exc.message, secrets), redact(exc.details, secrets)
            raise to_application_error(exc) from exc
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            self._record_usage(integration, spec, request, context, began, error)
        # The connection's secrets never go back to the run (a service that echoes the request's headers):
        # what this returns is in Temporal's history, the step's row and the API's answers.
        output: dict[str, Any] = scrub(
            result.model_dump(mode="json", by_alias=True), self._secrets(loaded, context)
        )
        encoded = json.dumps(output, separators=(",", ":"))
        limit = request.output_limit or MAX_OUTPUT_BYTES  # the run's MAX_VALUE_BYTES with a blob store
        if len(encoded) > limit:
            setting = (
                "MAX_VALUE_BYTES"
                if request.output_limit
                else "without a blob store: BLOB_STORE_URL is not set; with one, MAX_VALUE_BYTES"
            )
            raise ApplicationError(
                f"step {request.step_id!r}: {spec.id} returned {len(encoded):,} bytes; a step output may "
                f"be at most {limit:,} bytes ({setting}); narrow the request: fewer fields, a smaller page",
                type="OutputTooLarge",
                non_retryable=True,
            )
        if keep and key is not None and self._redis is not None:
            # It has acted: a Redis outage now must not fail the step (its retry would act again).
            await best_effort(
                self._redis.set(self._keys.action_result(key), encoded, ex=RESULT_SECONDS),
                None,
                "keeping an action's output for its retries",
            )
        return output, context.credentials

    def _token_publisher(self, request: ActionRequest, execution_id: str) -> Callable[[str], Awaitable[None]]:
        """Publishes a streamed answer's text on the run's live channel as `token` events (not logged, not
        replayed: the step's output holds the whole answer). Best effort: a lost event loses only a view."""
        assert self._redis is not None
        redis, channel = self._redis, self._keys.execution_channel(execution_id)

        async def publish(text: str) -> None:
            event = {
                "type": "token",
                "executionId": execution_id,
                "stepId": request.step_id,
                "key": request.step_key,
                "text": text,
            }
            await best_effort(redis.publish(channel, json.dumps(event)), 0, "a streamed answer's live event")

        return publish

    @staticmethod
    def _secrets(loaded: LoadedConnection | None, context: ActionContext) -> Secrets:
        """The secrets a call had: the connection's, and a token refreshed during the call."""
        if loaded is None:
            return NO_SECRETS
        return Secrets.of(loaded.credentials) | Secrets.of(context.credentials)

    async def _connection(self, request: ActionRequest) -> LoadedConnection | None:
        if not request.connection_id:
            return None
        if self._credentials is None:
            raise ApplicationError("this worker cannot read connections", type="NoCredentialStore")
        return await self._credentials.connection(request.connection_id, request.workspace_id)

    async def _take_rate_limit_slot(self, integration: Integration, loaded: LoadedConnection) -> None:
        limit = effective_limit(integration.rate_limit, loaded.rate_limit)
        if limit is None or self._redis is None:
            return
        verdict = await best_effort(
            hit(
                self._redis,
                self._keys.rate_limit(integration.id, loaded.id),
                limit=limit.limit,
                window_seconds=limit.window_seconds,
            ),
            Verdict(True, limit.limit, 0.0),  # let the call through: the service's own 429s still slow us
            "the connection's rate limit",
        )
        if verdict.allowed:
            return
        wait = max(verdict.retry_after, 0.05)
        raise ApplicationError(
            f"{integration.name}: this connection's limit of {limit.limit} calls per "
            f"{limit.window_seconds}s is reached; the step runs again in {wait:.1f}s",
            {"retryAfter": wait},
            type=RATE_LIMITED,
            next_retry_delay=timedelta(seconds=wait),
        )

    def _record_usage(
        self,
        integration: Integration,
        spec: ActionSpec[Any, Any],
        request: ActionRequest,
        context: ActionContext,
        began: float,
        error: str | None,
    ) -> None:
        observe_seconds(
            "baton_step_duration_seconds",
            "Time an action step took, by action and outcome",
            time.perf_counter() - began,
            action=spec.id,
            outcome=error or "success",
        )
        if self._usage is None:
            return
        self._usage.add(
            {
                "timestamp": datetime.now(UTC),
                "integrationId": integration.id,
                "connectionId": request.connection_id,
                "action": spec.key,
                "workspaceId": request.workspace_id,
                "success": error is None,
                "duration": round((time.perf_counter() - began) * 1000),
                "rateLimit": context.rate_limit.as_document() if context.rate_limit else None,
                "executionId": request.execution_id,
                "error": error,
                "metadata": context.metered,  # tokens and cost of an LLM call, else None
            }
        )
