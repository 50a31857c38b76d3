"""Webhooks: the seed's Webhook row per active WEBHOOK workflow, and what the ingress needs on its hot path.

- The token lookup is served from Redis (`webhook:{token}`, 5 minutes, dropped on every arm/disarm/rotate),
  so an accepted call reads PostgreSQL only when the cache is cold.
- The secret is stored encrypted with the credentials key, in the row and in the cache alike; a secret Baton
  makes is shown once. How calls are signed with it is the webhook's `signature_scheme`
  (core.triggers.signatures: Standard Webhooks for Baton's own secrets, or GitHub's, Stripe's, Slack's).
- `totalCalls`/`lastCalledAt` are counted in Redis and flushed to PostgreSQL in batches by `flush_stats`
  (one UPDATE for all webhooks called since the last flush), never one row update per call.
- `Idempotency-Key`, or a signed call's replay key (its message id or signature): the first execution id is
  kept 24 h under the webhook and the key's hash.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.crypto import CredentialCipher
from core.definition.triggers import WebhookTriggerConfig
from core.errors import NotFound
from core.models.tables import WEBHOOKS, WORKFLOWS
from core.outages import best_effort
from core.published import published_trigger
from core.redis_keys import RedisKeys
from core.triggers.inbound_auth import SenderAuth, seal_document
from core.triggers.signatures import Scheme, new_standard_secret

CACHE_SECONDS = 300
IDEMPOTENCY_SECONDS = 24 * 3600
# Takes the whole stats hashes in one step, so calls counted during a flush land in the next one.
TAKE_STATS = """
local calls = redis.call('HGETALL', KEYS[1])
local last = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {calls, last}
"""


def new_token() -> str:
    """192 random bits, URL-safe: unguessable, and short enough for a URL."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class HookTarget:
    """What `POST /hooks/{token}` needs to know about a token, as cached in Redis."""

    webhook_id: str
    workflow_id: str
    workspace_id: str
    is_active: bool
    sealed_secret: str | None
    # entries cached before schemes existed were all X-Baton-Signature
    signature_scheme: str = "baton-v1"
    methods: list[str] = field(default_factory=lambda: ["POST"])
    mode: str = "async"
    sync_timeout_seconds: int = 30
    # the trigger's `throttle` ({limit, windowSeconds, key, onLimit}), core.triggers.throttle
    throttle: dict[str, Any] | None = None
    # the trigger's `debounce` ({seconds, key}): calls go to the key's BatonDebounce (core.triggers.debounce)
    debounce: dict[str, Any] | None = None
    # the trigger's `chat` ({allowedOrigins}): it also takes `POST /hooks/{token}/chat` (core.triggers.chat)
    chat: dict[str, Any] | None = None
    # the trigger's `form` (core.forms.Form): the page /forms/{token} serves
    form: dict[str, Any] | None = None


class Webhooks:
    def __init__(
        self, engine: AsyncEngine, redis: Redis, keys: RedisKeys, cipher: CredentialCipher, public_url: str
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._public_url = public_url.rstrip("/")
        self._take_stats = redis.register_script(TAKE_STATS)

    def url_for(self, token: str) -> str:
        return f"{self._public_url}/hooks/{token}"

    # ------------------------------------------------------------------ the ingress's hot path

    async def target(self, token: str) -> HookTarget | None:
        key = self._keys.webhook_cache(token)
        cached = await best_effort(self._redis.get(key), None, "the webhook cache")
        if cached is not None:
            data = json.loads(cached)
            return HookTarget(**data) if data else None
        found = await self._load_target(token)
        # A miss is cached too (briefly), so a flood of calls to a wrong token never reaches PostgreSQL.
        await best_effort(
            self._redis.set(
                key, json.dumps(asdict(found) if found else {}), ex=CACHE_SECONDS if found else 30
            ),
            None,
            "the webhook cache",
        )
        return found

    async def _load_target(self, token: str) -> HookTarget | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(WEBHOOKS).where(WEBHOOKS.c.token == token))).first()
            published = await published_trigger(connection, row.workflow_id) if row is not None else None
        if row is None or published is None:
            return None
        try:
            config = WebhookTriggerConfig.model_validate(published.trigger_config)
        except ValueError:
            config = WebhookTriggerConfig()
        return HookTarget(
            webhook_id=row.id,
            workflow_id=row.workflow_id,
            workspace_id=published.workspace_id,
            is_active=row.is_active,
            sealed_secret=row.secret,
            signature_scheme=row.signature_scheme,
            methods=list(config.methods),
            mode=config.mode,
            sync_timeout_seconds=config.sync_timeout_seconds,
            throttle=config.throttle.model_dump(by_alias=True) if config.throttle else None,
            debounce=config.debounce.model_dump(by_alias=True) if config.debounce else None,
            chat=config.chat.model_dump(by_alias=True) if config.chat else None,
            form=config.form.model_dump(by_alias=True) if config.form else None,
        )

    def secret_of(self, target: HookTarget) -> str | None:
        return self._cipher.open_text(target.sealed_secret) if target.sealed_secret else None

    async def count_call(self, webhook_id: str, at: datetime | None = None) -> None:
        """Counts a call for the webhook's stats (calls during a Redis outage go uncounted)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._keys.webhook_calls(), webhook_id, 1)
            pipe.hset(self._keys.webhook_last_called(), webhook_id, (at or datetime.now(UTC)).isoformat())
            await best_effort(pipe.execute(), [], "webhook call counts")

    async def claim_idempotency_key(self, webhook_id: str, key: str, execution_id: str) -> str | None:
        """Claims `key` for `execution_id`; returns the execution id that claimed it first, if any (24 h)."""
        redis_key = self._keys.webhook_idempotency(webhook_id, hashlib.sha256(key.encode()).hexdigest())
        if await self._redis.set(redis_key, execution_id, nx=True, ex=IDEMPOTENCY_SECONDS):
            return None
        first = await self._redis.get(redis_key)
        return str(first) if first else None

    async def release_idempotency_key(self, webhook_id: str, key: str) -> None:
        """Frees a key whose run could not be started, so the sender's retry can start it."""
        await self._redis.delete(
            self._keys.webhook_idempotency(webhook_id, hashlib.sha256(key.encode()).hexdigest())
        )

    # ------------------------------------------------------------------ stats

    async def flush_stats(self) -> int:
        """Writes the calls counted in Redis since the last flush to PostgreSQL in one statement."""
        calls_raw, last_raw = await self._take_stats(
            keys=[self._keys.webhook_calls(), self._keys.webhook_last_called()]
        )
        calls = dict(zip(calls_raw[::2], calls_raw[1::2], strict=True))
        last = dict(zip(last_raw[::2], last_raw[1::2], strict=True))
        if not calls:
            return 0
        now = datetime.now(UTC)
        rows = [
            {"wid": wid, "n": int(count), "at": datetime.fromisoformat(last[wid]) if wid in last else now}
            for wid, count in calls.items()
        ]
        statement = (
            update(WEBHOOKS)
            .where(WEBHOOKS.c.id == bindparam("wid"))
            .values(
                total_calls=WEBHOOKS.c.total_calls + bindparam("n"),
                last_called_at=func.greatest(
                    func.coalesce(WEBHOOKS.c.last_called_at, bindparam("at")), bindparam("at")
                ),
            )
        )
        try:
            async with self._engine.begin() as connection:
                await connection.execute(statement, rows)
        except Exception:
            # Put the counts back for the next flush rather than lose them.
            async with self._redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.hincrby(self._keys.webhook_calls(), row["wid"], row["n"])
                    pipe.hset(self._keys.webhook_last_called(), row["wid"], row["at"].isoformat())
                await pipe.execute()
            raise
        return sum(row["n"] for row in rows)

    # ------------------------------------------------------------------ arming (PostgreSQL side)

    async def arm(self, connection: AsyncConnection, workflow_id: str) -> str:
        """Makes the workflow's webhook exist and be active; returns its token (kept across re-arming, so
        the URL a sender holds keeps working after a deactivate/activate)."""
        row = (
            await connection.execute(select(WEBHOOKS).where(WEBHOOKS.c.workflow_id == workflow_id).limit(1))
        ).first()
        if row is None:
            token = new_token()
            await connection.execute(
                insert(WEBHOOKS).values(
                    workflow_id=workflow_id, token=token, url=self.url_for(token), is_active=True
                )
            )
        else:
            token = row.token
            await connection.execute(update(WEBHOOKS).where(WEBHOOKS.c.id == row.id).values(is_active=True))
        return str(token)

    async def disarm(self, connection: AsyncConnection, workflow_id: str) -> list[str]:
        """Marks the workflow's webhooks inactive (their calls answer 404); returns their tokens."""
        result = await connection.execute(
            update(WEBHOOKS)
            .where(WEBHOOKS.c.workflow_id == workflow_id, WEBHOOKS.c.is_active.is_(True))
            .values(is_active=False)
            .returning(WEBHOOKS.c.token)
        )
        return [str(token) for token in result.scalars()]

    async def tokens_of(self, connection: AsyncConnection, *workflow_ids: str) -> list[str]:
        """The tokens of these workflows' webhooks (to drop from the cache once the workflows are deleted)."""
        rows = await connection.execute(
            select(WEBHOOKS.c.token).where(WEBHOOKS.c.workflow_id.in_(workflow_ids))
        )
        return [str(token) for token in rows.scalars()]

    async def forget(self, *tokens: str) -> None:
        if tokens:
            await self._redis.delete(*(self._keys.webhook_cache(token) for token in tokens))

    # ------------------------------------------------------------------ the management API

    async def rotate_secret(self, webhook_id: str) -> str:
        """A new Standard Webhooks secret (shown once); the old one stops working at once."""
        secret = new_standard_secret()
        await self._set_secret(webhook_id, self._cipher.seal_text(secret), "standard")
        return secret

    async def set_secret(
        self, webhook_id: str, scheme: Scheme, secret: str, auth: SenderAuth | None = None
    ) -> None:
        """A sender's own secret (GitHub's, Stripe's, Slack's signing secret, or a Standard Webhooks one), or
        a basic password, header token or HMAC key sealed with its scheme's settings (`auth`)."""
        stored = secret if auth is None else seal_document(secret, auth)
        await self._set_secret(webhook_id, self._cipher.seal_text(stored), scheme)

    async def remove_secret(self, webhook_id: str) -> None:
        await self._set_secret(webhook_id, None, "standard")

    async def _set_secret(self, webhook_id: str, sealed: str | None, scheme: Scheme) -> None:
        async with self._engine.begin() as connection:
            token = (
                await connection.execute(
                    update(WEBHOOKS)
                    .where(WEBHOOKS.c.id == webhook_id)
                    .values(secret=sealed, signature_scheme=scheme)
                    .returning(WEBHOOKS.c.token)
                )
            ).scalar()
        if token is None:
            raise NotFound(f"webhook {webhook_id} does not exist")
        await self.forget(str(token))

    async def list_for_workspace(self, workspace_id: str) -> list[dict[str, Any]]:
        """Every webhook of the workspace with its stats (flushed first, so the counts are current)."""
        await self.flush_stats()
        query = (
            select(WEBHOOKS, WORKFLOWS.c.name.label("workflow_name"))
            .join(WORKFLOWS, WORKFLOWS.c.id == WEBHOOKS.c.workflow_id)
            .where(WORKFLOWS.c.workspace_id == workspace_id)
            .order_by(WEBHOOKS.c.created_at.desc(), WEBHOOKS.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [dict(row._mapping) for row in rows]

    async def workspace_of(self, webhook_id: str) -> str | None:
        query = (
            select(WORKFLOWS.c.workspace_id)
            .join(WEBHOOKS, WEBHOOKS.c.workflow_id == WORKFLOWS.c.id)
            .where(WEBHOOKS.c.id == webhook_id)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar()
