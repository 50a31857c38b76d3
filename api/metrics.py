"""Prometheus metrics of the API: requests and latency by route (the route's template, never the raw
path, so ids do not explode the series), and webhooks accepted. Served at `GET /metrics`.

Each app has its own registry. With several uvicorn worker processes, each serves its own figures; run one
process per container (or scrape each) rather than `--workers N`.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorBody, error_response

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "baton_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "baton_http_request_duration_seconds",
            "Time to answer a request (until the response starts), by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.webhooks = Counter(
            "baton_webhook_accepts",
            "Webhook calls accepted (a 2xx answer: the run is durably started)",
            ["status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times each HTTP request until its response starts (an event stream is counted when it opens)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - began)
            self.metrics.requests.labels(method, route, str(status)).inc()
            if route.endswith("/hooks/{token}") and 200 <= status < 300:
                self.metrics.webhooks.labels(str(status)).inc()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            record(500)
            raise


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    include_in_schema=True,
    response_class=Response,
    responses={
        401: {"model": ErrorBody, "description": "METRICS_TOKEN is set and the bearer token is not it"},
        403: {"model": ErrorBody, "description": "METRICS_TOKEN is unset outside development"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latency by route, webhook accepts. Scrape it with
    `Authorization: Bearer $METRICS_TOKEN` (Prometheus: `authorization: {credentials: ...}`)."""
    settings = request.app.state.settings
    if settings.metrics_token:
        offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), settings.metrics_token.encode()):
            response = error_response(401, "unauthenticated", "send Authorization: Bearer <METRICS_TOKEN>")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    elif not settings.development:
        return error_response(
            403, "forbidden", "set METRICS_TOKEN and scrape /metrics with it as a bearer token"
        )
    api_metrics: ApiMetrics = request.app.state.metrics
    return Response(api_metrics.render(), media_type=CONTENT_TYPE_LATEST)
