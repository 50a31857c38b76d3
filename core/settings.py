"""Baton's configuration, read once from the environment (and `.env`) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

UNSAFE_SECRETS = frozenset({"", "changethis", "dev-secret-key-change-me"})
DEV_SECRET = "dev-secret-key-change-me"


class Settings(BaseSettings):
    """Every knob Baton reads. Names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Unset is not development: the API and worker refuse the built-in SECRET_KEY unless ENVIRONMENT says
    # development or test (`baton dev` sets development and makes a random secret per data folder).
    environment: Literal["development", "test", "production"] | None = None

    database_url: str = "postgresql://postgres@127.0.0.1:5432/baton"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis keys are written under this prefix so several Baton instances (or test runs) share a server.
    redis_key_prefix: str = ""
    mongodb_url: str | None = None
    mongodb_database: str = "baton"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "baton"
    # The Temporal Web UI (its HTTP API, /api/v1/..., is on the same address).
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # The Temporal frontend's HTTP API (host:port); unset: TEMPORAL_ADDRESS's host at 7243, Temporal's
    # default. TEMPORAL_METRICS_ADDRESS: the Temporal server's Prometheus endpoint, where one is exposed.
    # Both are Baton's own servers to the egress guard (core.outbound.own_servers); `baton dev` sets both.
    temporal_http_address: str | None = None
    temporal_metrics_address: str | None = None
    # BATON_SERVERS: any other server of Baton's stack, as comma-separated "host:port" (or "host": all of
    # its ports), e.g. a Temporal cluster's history and matching services or a proxy in front of the API.
    # Workflows cannot reach them, like the servers named above. `baton dev` lists its Temporal's own.
    baton_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Ask Temporal to hand a new run's first workflow task straight back to the starting process (eager
    # start). Only takes effect where a worker shares the starting client: `baton serve` turns it on.
    eager_workflow_start: bool = False
    # Runs carry their workspace as Temporal fairness key (core.runs.handles.run_priority): tasks of one
    # priority go round-robin across workspaces. Needs a server with `matching.enableFairness` (baton dev
    # switches it on; README "Fair tenants"); without it the key is ignored and dispatch is first come,
    # first served.
    temporal_fairness: bool = True
    # Seal every payload Baton writes to Temporal (trigger data, step outputs, failures) with a key derived
    # from ENCRYPTION_KEY (core.codec); the Web UI shows them through `baton codec-server`.
    temporal_encrypt_payloads: bool = True
    # Where `baton codec-server` listens (the Temporal Web UI's codec endpoint): an operator's tool, keep it
    # on a private address behind the same access control as the Web UI.
    codec_host: str = "127.0.0.1"
    codec_port: int = Field(default=8234, ge=1, le=65535)
    # CODEC_IN_API: the API also serves the codec endpoint, at /codec (`baton dev` does, on 127.0.0.1, to
    # save a process). Leave it off for an API that faces tenants: the endpoint decodes any payload.
    codec_in_api: bool = False
    # CODEC_TOKEN: the operator's credential for the codec endpoint, sent as `Authorization: Bearer <it>`
    # (README "Reading sealed payloads"). Unset, it answers only in development, and only a browser on this
    # machine showing the Web UI (loopback peer, TEMPORAL_UI_URL's Origin, Baton's own Host).
    codec_token: str | None = None
    # ALERT_WINDOW_SECONDS: the same failure of the same workflow starts its error workflow once per window;
    # the repeats are counted and reported by the next alert (core.runs.alerts).
    alert_window_seconds: float = Field(default=600, gt=0)
    # A run still going after this long ends as TIMEOUT (unset: runs may wait as long as their steps say).
    run_timeout_seconds: float | None = Field(default=None, gt=0)
    # A cancelled run that has not ended this long after the request (its workflow task failing, a step
    # that ignores cancellation) is terminated in Temporal and recorded CANCELLED (worker.closing).
    cancel_grace_seconds: float = Field(default=30, ge=0)
    # How often the worker looks for runs Temporal closed behind Baton's back (terminated or timed out from
    # the Web UI or CLI) and records their true end; how far back it looks when it starts.
    reconcile_interval_seconds: float = Field(default=30, gt=0)
    reconcile_lookback_hours: float = Field(default=24, gt=0)

    # Signs access tokens; encrypts credentials (derived keys, see core.crypto when it lands).
    secret_key: str = DEV_SECRET
    encryption_key: str | None = None

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None

    # OAUTH_CLIENTS (JSON): {"gmail": {"clientId": ..., "clientSecret": ..., "authorizeUrl"?, "tokenUrl"?}};
    # the URLs override the integration's declared ones (another region, a local test server).
    oauth_clients: dict[str, dict[str, str]] = Field(default_factory=dict)
    # OAuth2 providers beside the shipped catalogue (core/oauth_providers.json), shaped like it: a JSON file
    # (OAUTH_PROVIDERS_FILE) and/or inline JSON (OAUTH_PROVIDERS); their clients go in OAUTH_CLIENTS by id.
    oauth_providers_file: str | None = None
    oauth_providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Refresh OAuth2 access tokens this long before they expire.
    oauth_refresh_margin_seconds: float = Field(default=300, ge=0)
    # INTEGRATION_BASE_URLS (JSON): {"slack": "https://slack.example.com/api"}: where an integration's API is
    # for this installation (an enterprise host, a local server in tests); a connection's `baseUrl` wins.
    integration_base_urls: dict[str, str] = Field(default_factory=dict)
    # OUTBOUND_ALLOW: comma-separated networks and host names that calls made by workflows may reach although
    # they are private, loopback or link-local (core.outbound), e.g. "10.1.0.0/16,intranet.example.com".
    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # OUTBOUND_ALLOW_BATON_SERVERS: Baton's own servers (its databases, Redis, Temporal and its Web UI, the
    # API and codec, metrics, BATON_SERVERS: core.outbound.own_servers) are refused to workflows even
    # inside an allowed range; "host:port" entries listed here
    # may be reached anyway (e.g. a reporting workflow reading a replica on Baton's PostgreSQL server).
    outbound_allow_baton_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # CORS_ORIGINS: comma-separated origins a browser may call the API from ("*" for any); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Calls accepted per webhook token per minute (429 with Retry-After above it); 0 turns the limit off.
    webhook_rate_limit_per_minute: int = Field(default=6000, ge=0)
    # How far a signed webhook call's timestamp may be from now (Standard Webhooks, Stripe, Slack); older
    # calls answer 401 as replays. Message ids and signatures are remembered 24 h whatever this is.
    webhook_signature_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # How long a worker keeps decrypted credentials in memory before reading them again.
    credentials_cache_seconds: float = Field(default=30, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body (413 above)")
    # http.request pagination (integrations/http_pages.py): the pages a step reads when it sets no
    # maxPages, the most it may ask for, and the most JSON its items may total (they ride in the step's
    # heartbeat, so a retry resumes at the failed page: keep it under Temporal's 2 MB payload limit).
    http_pages_default: int = Field(default=10, ge=1)
    http_pages_max: int = Field(default=100, ge=1)
    http_pages_max_bytes: int = Field(default=1024 * 1024, ge=1024, le=1536 * 1024)
    # The data actions (integrations/data: CSV, XLSX, PDF, XML, HTML, gzip, zip): the most bytes one reads or
    # makes (decompressed too), the most rows or items it answers, and how long one may compute.
    data_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    data_max_rows: int = Field(default=100_000, ge=1)
    data_max_seconds: float = Field(default=30, gt=0, le=900)
    # Polling triggers never poll more often than this, whatever a workflow asks.
    min_polling_interval_seconds: float = Field(default=10, gt=0)
    # How often the API writes the webhook call counts it keeps in Redis to PostgreSQL.
    webhook_stats_flush_seconds: float = Field(default=5, gt=0)
    # The seed's data retention policy. Executions follow the workspace's plan (core.plans); this overrides
    # it per plan, e.g. EXECUTION_RETENTION_DAYS='{"FREE": 30}'.
    execution_retention_days: dict[str, int] = Field(default_factory=dict)
    execution_log_retention_days: int = Field(default=30, ge=1)
    audit_log_retention_days: int = Field(default=365, ge=1)
    # Raw analytics events and integration usage are folded into daily rows after this many days...
    analytics_raw_days: int = Field(default=30, ge=1)
    # ...which are kept this long.
    analytics_retention_days: int = Field(default=365, ge=1)
    # When the maintenance workflow runs (a cron expression, UTC), and how many rows one delete removes.
    retention_cron: str = "17 3 * * *"
    retention_batch_size: int = Field(default=5000, ge=1)
    # METRICS_TOKEN: `GET /metrics` on the API wants `Authorization: Bearer <it>`. Unset, /metrics answers
    # in development and test only (it tells traffic by route and webhook, which is not for everyone).
    metrics_token: str | None = None
    # The worker's Prometheus endpoint (Temporal SDK metrics plus Baton's runs and step durations); 0: none.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # Worker tuning (Temporal). Runs kept in memory between their workflow tasks (each takes ~20-40 KB; a run
    # that is not must be replayed from its history when it wakes or gets a decision):
    worker_max_cached_workflows: int = Field(default=1000, ge=0)
    # How long a task waits for the worker that ran the workflow last before any worker may take it (the SDK's
    # default of 10 s made each wake-up of an evicted or backlogged run wait 10 s), and how many pollers take
    # workflow tasks, a share of them from the shared queue (the SDK's 0.2 left one poller for it).
    worker_sticky_timeout_seconds: float = Field(default=10.0, gt=0)
    worker_workflow_task_polls: int = Field(default=5, ge=2)
    worker_nonsticky_poll_ratio: float = Field(default=0.2, gt=0, le=1)
    # How long a stopping worker waits for its tasks to end before it leaves them (Temporal hands its runs to
    # the next worker): a local activity that keeps failing (PostgreSQL out of reach) is retried even after
    # a shutdown began, and would keep `baton worker` from ever exiting.
    worker_shutdown_seconds: float = Field(default=30, gt=0)
    # How long an approval decision waits for the run's worker to take it before answering 503.
    decision_timeout_seconds: float = Field(default=60, gt=0)
    # The plan a new workspace gets (FREE: 5 workflows, 1,000 runs a month; see core.plans). Plans and limits
    # are the instance operator's: `baton plan`, or PUT /api/v1/admin/workspaces/{id}/plan by INSTANCE_ADMINS.
    default_plan: Literal["FREE", "STARTER", "PROFESSIONAL", "ENTERPRISE"] = "FREE"
    # INSTANCE_ADMINS: comma-separated verified emails (or account ids) of the users who may change any
    # workspace's plan and limits (core.workspaces.is_instance_admin).
    instance_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # BLOB_STORE_URL: where values too large for a run's Temporal history go (core.blobs), the history keeping
    # a reference: `file:///path` (or a plain path) for one machine or a shared volume, `s3://bucket/prefix`
    # for S3-compatible storage (BLOB_S3_*); empty: off, and large values fail their step as before.
    # `baton dev` keeps them in its data folder.
    blob_store_url: str = ""
    # FILE_MAX_BYTES: the largest file a step may make (a download, an attachment: core.files), streamed to
    # the blob store as it arrives and refused past this (nothing kept).
    file_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    # WEBHOOK_FILE_MAX_BYTES: the largest body a webhook takes as files (multipart/form-data or a raw
    # binary body; 413 above); other bodies keep MAX_BODY_BYTES.
    webhook_file_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # Payloads (sealed first when TEMPORAL_ENCRYPT_PAYLOADS) at least this large are stored aside.
    blob_threshold_bytes: int = Field(default=128 * 1024, ge=1024)
    # MAX_VALUE_BYTES: with a blob store, the largest value a run may hand on (a step's output or input, an
    # action's answer, the trigger, a loop's items, a webhook's body), as JSON; a run takes it as it starts.
    # Without a store a value keeps the limits of before (1 MiB inside a run, 256 KiB an action's output).
    max_value_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024, le=1024 * 1024 * 1024)
    # The S3-compatible store of an `s3://bucket/prefix` BLOB_STORE_URL: its endpoint (empty: AWS's, by
    # region), region and keys (BLOB_S3_SECRET_ACCESS_KEY is a secret: never logged).
    blob_s3_endpoint: str = ""
    blob_s3_region: str = "us-east-1"
    blob_s3_access_key_id: str = ""
    blob_s3_secret_access_key: str = ""
    # The API inlines a run's trigger, result and step inputs and outputs up to this many bytes of JSON; a
    # larger one is answered as a reference to read (GET .../executions/{id}/values/{ref}).
    # 1 MiB by default: every value a run could hold before MAX_VALUE_BYTES is still answered inline.
    inline_value_bytes: int = Field(default=1024 * 1024, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    log_level: str = "INFO"

    @field_validator(
        "outbound_allow",
        "outbound_allow_baton_servers",
        "baton_servers",
        "cors_origins",
        "instance_admins",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production_values(self) -> Settings:
        if self.environment == "production" and self.secret_key in UNSAFE_SECRETS:
            raise ValueError(
                "SECRET_KEY is unset or a development value; set a long random SECRET_KEY in production "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @property
    def development(self) -> bool:
        return self.environment in ("development", "test")

    def unsafe_secret(self) -> str | None:
        """Why a process that serves (the API, a worker) must not start with this SECRET_KEY, if it must
        not: the built-in development value signs tokens anyone can forge once they read Baton's source."""
        if self.secret_key not in UNSAFE_SECRETS or self.development:
            return None
        return (
            "SECRET_KEY is unset or the built-in development value, which anyone can sign tokens with: set a "
            "long random SECRET_KEY (`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), or "
            "ENVIRONMENT=development on your own machine (`baton dev` does both for you)"
        )

    @property
    def async_database_url(self) -> str:
        """The DATABASE_URL with the asyncpg driver SQLAlchemy needs, whatever scheme the user gave."""
        return to_asyncpg_url(self.database_url)

    @property
    def public_base_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.split('://')[0]}://...")


def to_libpq_url(url: str) -> str:
    """The URL as libpq/asyncpg expect it (no SQLAlchemy driver suffix)."""
    return "postgresql://" + to_asyncpg_url(url)[len("postgresql+asyncpg://") :]


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
