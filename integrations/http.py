"""HTTP: call any URL (`http.request`), the integration every workflow tool needs first."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, model_validator

from core.models import AuthType
from integrations.context import RETRYABLE_STATUSES, parse_retry_after
from integrations.failed_answers import failed_answer
from integrations.sdk import ActionContext, ActionError, Integration

OAUTH2_EXAMPLE = """**OAuth2 connections** (`type: oauth2`): Baton gets the token, refreshes it before it
expires and sends `Authorization: Bearer ...`. Providers come from the catalogue
(`core/oauth_providers.json`: google, microsoft, slack, github, hubspot, notion, airtable, salesforce,
quickbooks, dropbox, zoom; an operator adds more with `OAUTH_PROVIDERS_FILE`), or a connection gives
`tokenUrl` itself.

- Authorization code with PKCE, through the browser: set `OAUTH_CLIENTS={"google": {"clientId": "...",
  "clientSecret": "..."}}`, open `GET /api/v1/workspaces/{id}/connections/oauth/providers/google/authorize`
  (optional `scopes=`, `name=`); the callback makes an `http` connection named after who it acts for.
- Client credentials: `{"type": "oauth2", "grant": "client_credentials", "tokenUrl":
  "https://login.example.com/oauth/token", "clientId": "...", "clientSecret": "...", "scopes": ["read"],
  "audience": "https://api.example.com"}`.
- A Google service account (JWT bearer, RFC 7523): `{"type": "oauth2", "grant": "jwt_bearer", "provider":
  "google", "serviceAccount": {...the JSON key file...}, "scopes":
  ["https://www.googleapis.com/auth/spreadsheets"], "subject": "user@example.com"}` (`subject` only for
  domain-wide delegation).

A provider that refuses the grant (a revoked refresh token, a disabled client) marks the connection `FAILED`:
the step fails at once saying to reconnect.
"""

http = Integration(
    id="http",
    name="HTTP Request",
    description="Call any HTTP API: method, headers, query, JSON/form/raw body, auth from a connection",
    icon="/static/icons/http.svg",
    category="developer",
    auth_type=AuthType.NONE,
    is_popular=True,
    docs_url="https://developer.mozilla.org/en-US/docs/Web/HTTP",
    example=OAUTH2_EXAMPLE,
)


class RequestInput(BaseModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(json_schema_extra={"format": "uri"}, examples=["https://api.example.com/items"])
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any | None = Field(default=None, alias="json", description="Sent as application/json")
    form: dict[str, str] | None = Field(default=None, description="Sent as application/x-www-form-urlencoded")
    body: str | None = Field(default=None, description="Sent as is (set Content-Type in headers)")
    timeout_seconds: float = Field(default=30, gt=0, le=300, alias="timeoutSeconds")
    send_idempotency_key: bool = Field(
        default=True,
        alias="sendIdempotencyKey",
        description="POST and PATCH carry an Idempotency-Key header that stays the same when the step is "
        "retried, so APIs that honour it (Stripe, Adyen, many others) act once",
    )


class RequestOutput(BaseModel):
    status: int
    headers: dict[str, str]
    body: Any = Field(description="Parsed JSON when the response is JSON, else text")


class HttpAuth(BaseModel):
    """What an `http` connection holds (encrypted at rest): how requests authenticate."""

    type: Literal["basic", "bearer", "header", "query", "oauth2"]
    username: str | None = None
    password: str | None = None
    token: str | None = None
    name: str | None = Field(default=None, description="Header or query parameter name")
    value: str | None = None
    # type oauth2: Baton gets, refreshes and sends the token (core.oauth_grants); a provider of the
    # catalogue (core/oauth_providers.json) or the token URL itself
    grant: Literal["authorization_code", "client_credentials", "jwt_bearer"] = Field(
        default="authorization_code",
        description="oauth2: authorization_code (made through the browser flow), client_credentials or "
        "jwt_bearer (a Google service account)",
    )
    provider: str | None = Field(default=None, description="oauth2: a provider id of the catalogue")
    token_url: str | None = Field(default=None, alias="tokenUrl")
    client_id: str | None = Field(default=None, alias="clientId")
    client_secret: str | None = Field(default=None, alias="clientSecret")
    scopes: list[str] | None = None
    audience: str | None = Field(default=None, description="oauth2 client_credentials: the API to call")
    service_account: dict[str, Any] | None = Field(
        default=None, alias="serviceAccount", description="oauth2 jwt_bearer: the service account's JSON key"
    )
    subject: str | None = Field(default=None, description="oauth2 jwt_bearer: the user to act as")

    @model_validator(mode="after")
    def _oauth2_is_complete(self) -> HttpAuth:
        if self.type != "oauth2":
            return self
        if self.grant == "jwt_bearer":
            account = self.service_account or {}
            if not account.get("client_email") or not account.get("private_key"):
                raise ValueError("serviceAccount needs client_email and private_key (the JSON key file)")
        elif not self.provider and not self.token_url:
            raise ValueError("an oauth2 connection names a `provider` or gives a `tokenUrl`")
        return self


def apply_auth(
    credentials: dict[str, Any], headers: dict[str, str], params: dict[str, str]
) -> httpx.BasicAuth | None:
    """Adds the connection's auth to the request; the secret never appears in the step's recorded input."""
    if not credentials:
        return None
    # an integration's OAuth2 connection, or a generic one whose token Baton got fresh before the step
    if "accessToken" in credentials and credentials.get("type") in {None, "oauth2"}:
        headers["Authorization"] = f"Bearer {credentials['accessToken']}"
        return None
    try:
        auth = HttpAuth.model_validate(credentials)
    except ValueError as exc:
        raise ActionError(
            f"the connection's credentials are not usable for HTTP: {exc}",
            type="InvalidCredentials",
            retryable=False,
        ) from exc
    if auth.type == "oauth2":
        raise ActionError(
            "the OAuth2 connection has no token yet; reconnect it",
            type="AuthenticationFailed",
            retryable=False,
        )
    if auth.type == "basic":
        return httpx.BasicAuth(auth.username or "", auth.password or "")
    if auth.type == "bearer":
        headers["Authorization"] = f"Bearer {auth.token or ''}"
    elif auth.type == "header":
        headers[auth.name or "X-API-Key"] = auth.value or ""
    else:
        params[auth.name or "api_key"] = auth.value or ""
    return None


http.credentials_model = HttpAuth


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _decode_body(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", "") and response.content:
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


@http.action(
    "request",
    name="HTTP Request",
    description="Send an HTTP request and return its status, headers and body",
    # GET, HEAD and OPTIONS only read (RFC 9110 safe methods): a retry may simply send them again.
    side_effects=lambda data: data.method not in SAFE_METHODS,
)
async def request(data: RequestInput, ctx: ActionContext) -> RequestOutput:
    bodies = [b for b in (data.json_body, data.form, data.body) if b is not None]
    if len(bodies) > 1:
        raise ActionError(
            "give at most one of `json`, `form` and `body`", type="InvalidInput", retryable=False
        )
    headers = dict(data.headers)
    if (
        data.send_idempotency_key
        and ctx.idempotency_key
        and data.method in {"POST", "PATCH"}
        and not any(name.lower() == "idempotency-key" for name in headers)
    ):
        headers["Idempotency-Key"] = ctx.idempotency_key
    params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.query.items()}
    auth = apply_auth(ctx.credentials, headers, params)
    # httpx replaces a URL's own query string with `params`: keep both (the URL's first, then `query`)
    written = httpx.URL(data.url).params
    merged = httpx.QueryParams([*written.multi_items(), *params.items()]) if written else params
    # Any status comes back: this action reports the answer itself (an excerpt in the error's details).
    response = await ctx.request(
        data.method,
        data.url,
        check_status=False,
        params=merged,
        headers=headers,
        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        json=data.json_body,
        data=data.form,
        content=data.body,
        timeout=data.timeout_seconds,
    )
    status = response.status_code
    if status >= 400:
        # The service's answer stays on the failed step (status, headers, the start of its body) and its
        # first words in the message: "answered 500" alone says nothing of what went wrong.
        excerpt, details = failed_answer(response)
        failure = f"{data.method} {data.url} answered {status}{excerpt}"
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise ActionError(
                failure,
                type=f"HTTP{status}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                details=details,
            )
        raise ActionError(failure, type=f"HTTP{status}", retryable=False, details=details)
    return RequestOutput(status=status, headers=dict(response.headers), body=_decode_body(response))
