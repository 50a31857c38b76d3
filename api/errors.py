"""Every API error has one shape: {"error": kind, "detail": sentence, "path": json path or null}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.unknown_fields import body_message
from core.errors import BatonError
from core.outages import OUTAGE_ERRORS, unavailable_store, warn_unavailable

logger = logging.getLogger("baton.api")
OUTAGE_RETRY_AFTER_SECONDS = 2


class ErrorBody(BaseModel):
    error: str
    detail: str
    path: str | None = None


def error_response(status: int, kind: str, detail: str, path: str | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(error=kind, detail=detail, path=path).model_dump(), status_code=status)


def listed(issues: list[tuple[str, str]]) -> str:
    """Every (path, message) in one sentence (`steps[0].type: ...; tags: ...`): a detail never hides some
    behind "(and 2 more)"; `path` names the first."""
    return "; ".join(f"{path or 'request'}: {message}" for path, message in issues)


def json_path(location: tuple[int | str, ...]) -> str:
    """`("body", "steps", 2, "input")` -> `steps[2].input` (the request part is dropped)."""
    parts = (
        list(location[1:])
        if location and location[0] in {"body", "query", "path", "header"}
        else list(location)
    )
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or (str(location[0]) if location else "")


ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid credentials",
    403: "Not allowed (role, scope or limit)",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "Invalid body (the path names the field)",
    429: "Too many requests (see Retry-After)",
    503: "Baton's database, Redis or Temporal briefly unreachable (see Retry-After)",
}


def malformed_json(body: bytes, error: dict[str, Any]) -> str:
    """`body is not valid JSON: Expecting value at line 2 column 14`, from FastAPI's json_invalid error."""
    location = tuple(error.get("loc", ()))
    offset = location[1] if len(location) > 1 and isinstance(location[1], int) else None
    reason = (error.get("ctx") or {}).get("error") or "malformed"
    if offset is None:
        return f"body is not valid JSON: {reason}"
    before = body[:offset].decode("utf-8", "replace")
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1 if "\n" in before else offset + 1
    return f"body is not valid JSON: {reason} at line {line} column {column}"


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors an endpoint can answer, all in the one error shape."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


_KINDS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BatonError)
    async def _domain(_: Request, exc: BatonError) -> JSONResponse:
        response = error_response(exc.status_code, exc.kind, exc.detail, exc.path)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":  # its `loc` is a character offset, not a JSON path
            return error_response(400, "invalid_json", malformed_json(await request.body(), first), "body")
        issues = [(json_path(tuple(e.get("loc", ()))), body_message(request, e)) for e in exc.errors()]
        issues = issues or [("", str(first["msg"]))]
        return error_response(422, "validation_error", listed(issues), issues[0][0] or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _KINDS.get(exc.status_code, "error")
        return error_response(exc.status_code, kind, str(exc.detail))

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        if (store := unavailable_store(exc)) is None:
            raise exc  # not an outage: the 500 below
        warn_unavailable(f"{request.method} {request.url.path}", exc)
        response = error_response(
            503,
            "unavailable",
            f"Baton's {store} is briefly unreachable; retry after the time in Retry-After (with the same "
            "Idempotency-Key, if you sent one)",
        )
        response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
        return response

    for kind in OUTAGE_ERRORS:  # handled inside the app: the connection stays open, nothing logs a traceback
        app.add_exception_handler(kind, _outage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
