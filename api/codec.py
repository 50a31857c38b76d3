"""The codec endpoint of the Temporal Web UI and CLI (`baton codec-server`): POST /decode and /encode (also
under /{namespace}/) take and give a Payloads message in protobuf JSON, as Temporal's remote codec protocol
says, so an operator sees sealed inputs and results in clear (core.codec).

An operator's tool, not a tenant's: it decodes any payload it is given, so it answers only
- a caller with the operator's credential, `Authorization: Bearer <CODEC_TOKEN>` (the Temporal CLI's
  `--codec-auth`, or the proxy that guards the Web UI adding it), or
- in development, the Web UI on this machine: a loopback peer, TEMPORAL_UI_URL's Origin (what a browser
  sends on the UI's cross-origin call) and a Host that is Baton's own address (not a rebound DNS name).
Bodies stop at the API's limit (MAX_BODY_BYTES). CORS answers only TEMPORAL_UI_URL's origin."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from core.codec import UnknownPayloadKey, WebUICodec
from core.settings import Settings, get_settings

logger = logging.getLogger("baton.codec")


def create_codec_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    codec = WebUICodec.from_settings(settings)  # follows references to payloads stored aside (core.blobs)
    origin = origin_of(settings.temporal_ui_url)
    hosts = own_hosts(settings)
    if not settings.codec_token and not settings.development:
        logger.warning("the codec endpoint refuses every call: set CODEC_TOKEN and send it as a bearer token")

    def cors(request: Request, response: Response) -> Response:
        if request.headers.get("origin") == origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"
            response.headers["Vary"] = "Origin"
        return response

    def refusal(request: Request) -> Response | None:
        """Why this caller may not use the codec, or None when it may (see the module docstring)."""
        offered = request.headers.get("authorization")
        if offered is not None:
            expected = f"Bearer {settings.codec_token}" if settings.codec_token else None
            if expected and hmac.compare_digest(offered.encode(), expected.encode()):
                return None
            return _error(401, "unauthorized", "this is not the codec's credential (CODEC_TOKEN)")
        if not (settings.development and _loopback(request)):
            return _error(
                401,
                "unauthorized",
                "the codec endpoint wants the operator's Authorization: Bearer <CODEC_TOKEN>",
            )
        if request.headers.get("origin") != origin or request.headers.get("host", "").lower() not in hosts:
            return _error(
                403,
                "forbidden",
                f"without CODEC_TOKEN, only the Web UI at {origin} on this machine may use the codec",
            )
        return None

    def handler(direction: str) -> object:
        async def endpoint(request: Request) -> Response:
            if request.method == "OPTIONS":
                return cors(request, Response(status_code=204))
            refused = refusal(request)
            if refused is not None:
                return cors(request, refused)
            body = await _body(request, settings.max_body_bytes)
            if body is None:
                return cors(
                    request,
                    _error(
                        413,
                        "payload_too_large",
                        f"the request body is larger than {settings.max_body_bytes} bytes",
                    ),
                )
            try:
                payloads = json_format.Parse(body, Payloads())
            except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
                return cors(
                    request, _error(400, "invalid_payloads", f"not a Payloads message in JSON: {exc}")
                )
            try:
                if direction == "decode":
                    out = [for_reading(payload) for payload in await codec.decode(payloads.payloads)]
                else:
                    out = await codec.encode(payloads.payloads)
            except (UnknownPayloadKey, DecodeError) as exc:
                return cors(request, _error(422, "cannot_decode", str(exc)))
            text = json_format.MessageToJson(Payloads(payloads=out))
            return cors(request, Response(text, media_type="application/json"))

        return endpoint

    routes = [
        Route(path, handler(direction), methods=["POST", "OPTIONS"])  # type: ignore[arg-type]
        for direction in ("decode", "encode")
        for path in (f"/{direction}", f"/{{namespace}}/{direction}")
    ]
    return Starlette(routes=routes)


# A run's input as the Web UI's input pane shows it: what ran and why first, the definition last (Temporal's
# JSON converter writes keys sorted, which puts `definition` before `trigger_data`).
RUN_INPUT_FIRST = ("workflow_name", "workflow_id", "version", "trigger_type", "trigger_data", "execution_id")


def for_reading(payload: Payload) -> Payload:
    """A decoded run input (core.contract.RunInput) with its keys in reading order; any other payload as
    it is. Only the order changes: the value is the same JSON."""
    if payload.metadata.get("encoding") != b"json/plain":
        return payload
    try:
        value = json.loads(payload.data)
    except ValueError:
        return payload
    if not (isinstance(value, dict) and {"execution_id", "definition", "trigger_data"} <= value.keys()):
        return payload
    first = {key: value[key] for key in RUN_INPUT_FIRST if key in value}
    rest = {key: item for key, item in value.items() if key not in first and key != "definition"}
    ordered = {**first, **rest, "definition": value["definition"]}
    return Payload(metadata=dict(payload.metadata), data=json.dumps(ordered, separators=(",", ":")).encode())


def origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def own_hosts(settings: Settings) -> set[str]:
    """The Host headers Baton's own addresses carry: the API's (which serves /codec with CODEC_IN_API), the
    codec server's and PUBLIC_URL's; a loopback or any-address listener by its loopback names too."""
    found: set[str] = set()
    for host, port in ((settings.api_host, settings.api_port), (settings.codec_host, settings.codec_port)):
        names = {host}
        if host in ("localhost", "0.0.0.0", "::") or _is_loopback(host):  # noqa: S104 - names, not a bind
            names |= {"127.0.0.1", "localhost", "::1"}
        found |= {f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names}
    if settings.public_url:
        found.add(urlsplit(settings.public_url).netloc)
    return {host.lower() for host in found}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback(request: Request) -> bool:
    return request.client is not None and _is_loopback(request.client.host)


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None past `limit` bytes (counted as it arrives: a Content-Length may be absent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail, "path": None}, status_code=status)
