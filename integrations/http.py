"""HTTP: call any URL (`http.request`), the integration every workflow tool needs first."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, model_validator

from core.files import FileRef
from core.models import AuthType
from integrations import http_files
from integrations.context import RETRYABLE_STATUSES, auth_failed, parse_retry_after
from integrations.failed_answers import failed_answer
from integrations.http_pages import PagesSummary, Pagination, paginate
from integrations.sdk import ActionContext, ActionError, Integration

OAUTH2_EXAMPLE = """**OAuth2 connections** (`type: oauth2`): Baton gets the token, refreshes it before it
expires and sends `Authorization: Bearer ...`. Providers come from the catalogue
(`core/oauth_providers.json`: google, microsoft, slack, github, hubspot, notion, airtable, salesforce,
quickbooks, dropbox, zoom; an operator adds more with `OAUTH_PROVIDERS_FILE`), or a connection gives
`tokenUrl` itself.

- Authorization code with PKCE, through the browser: set `OAUTH_CLIENTS={"google": {"clientId": "...",
  "clientSecret": "..."}}`, open `GET /api/v1/workspaces/{id}/connections/oauth/providers/google/authorize`
  (optional `scopes=`, `name=`); the callback makes an `http` connection that shows who it acts for
  (`connectedAs` in the connections API, and in its name): the `id_token`'s email when the provider sends
  one, else its userinfo endpoint's answer at the catalogue's `userinfoIdentity` path (e.g.
  `{"userinfoUrl": "https://id.example.com/userinfo", "userinfoIdentity": "profile.email"}`).
- Client credentials: `{"type": "oauth2", "grant": "client_credentials", "tokenUrl":
  "https://login.example.com/oauth/token", "clientId": "...", "clientSecret": "...", "scopes": ["read"],
  "audience": "https://api.example.com"}`.
- A Google service account (JWT bearer, RFC 7523): `{"type": "oauth2", "grant": "jwt_bearer", "provider":
  "google", "serviceAccount": {...the JSON key file...}, "scopes":
  ["https://www.googleapis.com/auth/spreadsheets"], "subject": "user@example.com"}` (`subject` only for
  domain-wide delegation).

A provider that refuses the grant (a revoked refresh token, a disabled client) marks the connection `FAILED`:
the step fails at once saying to reconnect. An API that answers 401 to the token (revoked or rotated early)
gets one fresh token (a refresh, or the grant again, under the connection's refresh lock) and the call once
more; a second 401 fails the step saying the API refused the connection's credentials.

Token, userinfo and API calls all go through the egress guard: a provider an operator adds with
`OAUTH_PROVIDERS_FILE`/`OAUTH_PROVIDERS`, or a `tokenUrl` a connection gives, is refused on a private,
loopback or link-local address unless `OUTBOUND_ALLOW` covers it, like any other outbound call (only the
URLs an operator sets in `OAUTH_CLIENTS` are reachable by that alone).
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
    example=OAUTH2_EXAMPLE + "\n" + http_files.FILES_EXAMPLE,
)


class RequestInput(BaseModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(json_schema_extra={"format": "uri"}, examples=["https://api.example.com/items"])
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any | None = Field(default=None, alias="json", description="Sent as application/json")
    form: dict[str, str] | None = Field(default=None, description="Sent as application/x-www-form-urlencoded")
    body: str | None = Field(default=None, description="Sent as is (set Content-Type in headers)")
    file: FileRef | None = Field(
        default=None,
        description="A file (a FileRef: an item of trigger.files, a download's `file`) sent as the raw body, "
        "with its Content-Type unless headers give one",
    )
    multipart: dict[str, Any] | None = Field(
        default=None,
        description="Sent as multipart/form-data: each value text, a file (FileRef) or a list of files",
    )
    response_format: Literal["auto", "file"] = Field(
        default="auto",
        alias="responseFormat",
        description="auto: the body parsed (JSON, else text); file: the body kept as a file, streamed to the "
        "store, its reference in the output's `file` (named by Content-Disposition or the URL)",
    )
    timeout_seconds: float = Field(default=30, gt=0, le=300, alias="timeoutSeconds")
    send_idempotency_key: bool = Field(
        default=True,
        alias="sendIdempotencyKey",
        description="POST and PATCH carry an Idempotency-Key header that stays the same when the step is "
        "retried, so APIs that honour it (Stripe, Adyen, many others) act once",
    )
    paginate: Pagination | None = Field(
        default=None,
        description="Read a listing page after page (Link header, cursor, page number or offset): the "
        "output's `items` are those of every page (integrations/http_pages.py)",
    )


class RequestOutput(BaseModel):
    status: int
    headers: dict[str, str]
    body: Any = Field(description="Parsed JSON when the response is JSON, else text")
    file: FileRef | None = Field(
        default=None, exclude_if=lambda v: v is None, description="responseFormat file: the downloaded file"
    )
    # paginated requests only (status and headers are the last page's, body null)
    items: list[Any] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="paginate: the items of every page read"
    )
    pages: PagesSummary | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="paginate: how many pages were read, the last one's status, what ended them",
    )


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


def _sends_oauth_token(credentials: dict[str, Any]) -> bool:
    return "accessToken" in credentials and credentials.get("type") in {None, "oauth2"}


def apply_auth(
    credentials: dict[str, Any], headers: dict[str, str], params: dict[str, str]
) -> httpx.BasicAuth | None:
    """Adds the connection's auth to the request; the secret never appears in the step's recorded input."""
    if not credentials:
        return None
    # an integration's OAuth2 connection, or a generic one whose token Baton got fresh before the step
    if _sends_oauth_token(credentials):
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


def decode_body(response: httpx.Response) -> Any:
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
    # paginated: a regular activity that heartbeats its pages, so a retry resumes at the failed one
    profile_when={"long": lambda raw: raw.get("paginate") is not None},
)
async def request(data: RequestInput, ctx: ActionContext) -> RequestOutput:
    bodies = [b for b in (data.json_body, data.form, data.body, data.file, data.multipart) if b is not None]
    if len(bodies) > 1:
        raise ActionError(
            "give at most one of `json`, `form`, `body`, `file` and `multipart`",
            type="InvalidInput",
            retryable=False,
        )
    headers = dict(data.headers)
    if (
        data.send_idempotency_key
        and ctx.idempotency_key
        and data.method in {"POST", "PATCH"}
        and data.paginate is None  # one key for every page would answer the first page again
        and not any(name.lower() == "idempotency-key" for name in headers)
    ):
        headers["Idempotency-Key"] = ctx.idempotency_key
    query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.query.items()}

    async def send(url: str, params: dict[str, str]) -> tuple[httpx.Response, Any]:
        response = await _send(data, ctx, url, dict(headers), params)
        return response, decode_body(response)

    if data.file is not None or data.multipart is not None or data.response_format == "file":
        return await _with_files(data, ctx, headers, query)
    if data.paginate is not None:
        items, pages, last = await paginate(data.paginate, data.url, query, send, ctx)
        return RequestOutput(
            status=last.status_code, headers=dict(last.headers), body=None, items=items, pages=pages
        )
    response, body = await send(data.url, query)
    return RequestOutput(status=response.status_code, headers=dict(response.headers), body=body)


async def _send(
    data: RequestInput, ctx: ActionContext, url: str, headers: dict[str, str], params: dict[str, str]
) -> httpx.Response:
    """One request of the step (one page of a paginated one); an error status raises."""
    # Any status comes back: this action reports the answer itself (an excerpt in the error's details).
    response = await ctx.request(
        data.method, url, check_status=False, **_arguments(data, ctx, url, headers, params, data.body)
    )
    refuse(data, url, response, ctx.credentials)
    return response


async def _with_files(
    data: RequestInput, ctx: ActionContext, headers: dict[str, str], params: dict[str, str]
) -> RequestOutput:
    """A request whose body is made of files, or whose answer is kept as a file (integrations.http_files)."""
    content: Any = data.body
    if data.file is not None or data.multipart is not None:
        streamed = await (
            http_files.raw_file_body(ctx, data.file, "file")
            if data.file is not None
            else http_files.multipart_body(ctx, data.multipart or {})
        )
        content, headers = streamed.chunks, streamed.headers(headers)
    arguments = _arguments(data, ctx, data.url, headers, params, content)
    if data.response_format != "file":
        response = await ctx.request(data.method, data.url, check_status=False, **arguments)
        refuse(data, data.url, response, ctx.credentials)
        return RequestOutput(
            status=response.status_code, headers=dict(response.headers), body=decode_body(response)
        )
    async with ctx.stream(data.method, data.url, check_status=False, **arguments) as streaming:
        if streaming.status_code >= 400:
            await streaming.aread()
            refuse(data, data.url, streaming, ctx.credentials)
        file = await http_files.store_response(ctx, streaming, str(streaming.url))
    return RequestOutput(status=streaming.status_code, headers=dict(streaming.headers), body=None, file=file)


def _arguments(
    data: RequestInput,
    ctx: ActionContext,
    url: str,
    headers: dict[str, str],
    params: dict[str, str],
    content: Any,
) -> dict[str, Any]:
    """httpx's arguments for one request of the step: its query, headers, auth and body."""
    auth = apply_auth(ctx.credentials, headers, params)
    # httpx replaces a URL's own query string with `params`: keep both (the URL's first, then `query`)
    written = httpx.URL(url).params
    merged = httpx.QueryParams([*written.multi_items(), *params.items()]) if written else params
    return {
        "params": merged,
        "headers": headers,
        "auth": auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        "json": data.json_body,
        "data": data.form,
        "content": content,
        "timeout": data.timeout_seconds,
    }


def refuse(
    data: RequestInput, url: str, response: httpx.Response, credentials: dict[str, Any] | None = None
) -> None:
    """Raises the step's error for a 4xx or 5xx answer (retried when its status says a retry may help).
    A 401 to an OAuth2 token is AuthenticationFailed: the step gets a fresh token once and sends again."""
    status = response.status_code
    if status >= 400:
        # The service's answer stays on the failed step (status, headers, the start of its body) and its
        # first words in the message: "answered 500" alone says nothing of what went wrong.
        excerpt, details = failed_answer(response)
        failure = f"{data.method} {url} answered {status}{excerpt}"
        if status == 401 and _sends_oauth_token(credentials or {}):
            refused = auth_failed("the API", failure)
            refused.details = details
            raise refused
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise ActionError(
                failure,
                type=f"HTTP{status}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                details=details,
            )
        raise ActionError(failure, type=f"HTTP{status}", retryable=False, details=details)
