"""The codec endpoint of the Temporal Web UI and CLI (`baton codec-server`): POST /decode and /encode (also
under /{namespace}/) take and give a Payloads message in protobuf JSON, as Temporal's remote codec protocol
says, so an operator sees sealed inputs and results in clear (core.codec).

An operator's tool, not a tenant's: it decodes any payload it is given. It listens on CODEC_HOST
(127.0.0.1 by default) and answers browsers only from TEMPORAL_UI_URL's origin; in production, put it
behind the same access control as the Web UI."""

from __future__ import annotations

import json

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from core.codec import EncryptionCodec, UnknownPayloadKey
from core.settings import Settings, get_settings

MAX_BODY_BYTES = 64 * 1024 * 1024  # a history page of payloads, well over Temporal's per-payload limit


def create_codec_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    codec = EncryptionCodec.from_settings(settings)
    origin = origin_of(settings.temporal_ui_url)

    def cors(request: Request, response: Response) -> Response:
        if request.headers.get("origin") == origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"
            response.headers["Vary"] = "Origin"
        return response

    def handler(direction: str) -> object:
        async def endpoint(request: Request) -> Response:
            if request.method == "OPTIONS":
                return cors(request, Response(status_code=204))
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return cors(request, _error(413, "body_too_large", f"at most {MAX_BODY_BYTES} bytes"))
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


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail, "path": None}, status_code=status)
