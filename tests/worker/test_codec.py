"""Temporal holds ciphertext: trigger data, step outputs and failures are sealed with a key derived from
ENCRYPTION_KEY (core.codec), and the codec endpoint (`baton codec-server`) opens them for the Web UI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import WorkflowFailureError

from api.codec import create_codec_app
from core.codec import ENCODING, EncryptionCodec, UnknownPayloadKey
from core.settings import Settings
from tests.engine import Engine, history_payloads

MARKER = "card-4242-trigger-data"
OPERATOR_TOKEN = "operator-codec-token-3f9a1c7e5b2d"


async def test_temporal_keeps_only_ciphertext_and_the_codec_endpoint_opens_it(
    engine_worker: Engine, settings: Settings
) -> None:
    steps = [
        {"id": "copy", "type": "set", "values": {"seen": "{{ trigger.card }}"}},
        {"id": "fail", "type": "stop", "status": "FAILED", "error": "declined {{ trigger.card }}"},
    ]
    handle = await engine_worker.start(steps, {"card": MARKER})
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    raw = await history_payloads(engine_worker.client, handle.id, decoded=False)
    # the SDK's own markers (patches, a local activity's attempt) stay readable; users' data does not
    assert sum(p.metadata["encoding"] == ENCODING for p in raw) >= 3
    assert not any(MARKER.encode() in p.data for p in raw)
    # the same payloads opened by the client's codec (a second fetch of the history may list a marker's
    # details, a protobuf map, in another order)
    client_codec = engine_worker.client.data_converter.payload_codec
    assert client_codec is not None
    opened = await client_codec.decode(raw)
    assert any(MARKER.encode() in p.data for p in opened)

    ui = settings.temporal_ui_url
    app = create_codec_app(settings.model_copy(update={"codec_token": OPERATOR_TOKEN}))
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec", headers=operator) as codec:
        body = json_format.MessageToJson(Payloads(payloads=raw))
        answer = await codec.post(
            "/default/decode",
            content=body,
            headers={"content-type": "application/json", "origin": ui, "x-namespace": "default"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == ui
        decoded = json_format.Parse(answer.content, Payloads()).payloads

        # the same values (a run's input with its keys in reading order: api.codec.for_reading)
        def value(p: Payload) -> object:
            return json.loads(p.data) if p.metadata.get("encoding") == b"json/plain" else p.data

        assert [value(p) for p in decoded] == [value(p) for p in opened]

        preflight = await codec.options("/decode", headers={"origin": ui})
        assert preflight.status_code == 204
        stranger = await codec.options("/decode", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers

        bad = await codec.post("/decode", content=b"{not json")
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_payloads"
        other_key = EncryptionCodec("another secret entirely")
        foreign = json_format.MessageToJson(Payloads(payloads=await other_key.encode([Payload(data=b"x")])))
        refused = await codec.post("/decode", content=foreign)
        assert refused.status_code == 422
        assert "ENCRYPTION_KEY" in refused.json()["detail"]


async def test_an_old_key_listed_after_the_new_one_still_opens_what_it_sealed() -> None:
    old = EncryptionCodec("old secret")
    sealed = await old.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')])
    rotated = EncryptionCodec("new secret, old secret")
    assert (await rotated.decode(sealed))[0].data == b'{"a": 1}'
    fresh = await rotated.encode([Payload(data=b"y")])
    assert fresh[0].metadata["encryption-key-id"] != sealed[0].metadata["encryption-key-id"]
    with pytest.raises(UnknownPayloadKey):
        await EncryptionCodec("new secret").decode(sealed)
    tampered = Payload()
    tampered.CopyFrom(sealed[0])
    tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
    with pytest.raises(UnknownPayloadKey, match="altered"):
        await old.decode([tampered])


async def test_payloads_written_before_the_codec_pass_through() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"b": 2}).encode())
    assert (await EncryptionCodec("k").decode([plain]))[0] == plain


def test_the_codec_can_be_turned_off(settings: Settings) -> None:
    from core.codec import data_converter

    assert data_converter(settings).payload_codec is not None
    off = settings.model_copy(update={"temporal_encrypt_payloads": False})
    assert data_converter(off).payload_codec is None


async def _sealed_body(settings: Settings) -> str:
    sealed = await EncryptionCodec.from_settings(settings).encode([Payload(data=MARKER.encode())])
    return json_format.MessageToJson(Payloads(payloads=sealed))


def _codec_client(settings: Settings, peer: str = "127.0.0.1", host: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_codec_app(settings), client=(peer, 50123))
    return httpx.AsyncClient(
        transport=transport, base_url=f"http://{host or f'127.0.0.1:{settings.api_port}'}"
    )


async def test_the_codec_answers_only_the_operators_credential_or_the_web_ui_on_this_machine(
    settings: Settings,
) -> None:
    """Anyone who could reach /codec decrypted any tenant's trigger data: now it wants CODEC_TOKEN, or in
    development the Web UI itself (a loopback peer, the UI's Origin, Baton's own Host)."""
    ui = {"origin": settings.temporal_ui_url}
    body = await _sealed_body(settings)
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
    production = settings.model_copy(update={"environment": "production", "codec_token": OPERATOR_TOKEN})

    for path in ("/decode", "/encode", "/default/decode"):
        async with _codec_client(production) as codec:
            anonymous = await codec.post(path, content=body, headers=ui)  # the UI's origin is not enough
            assert anonymous.status_code == 401, anonymous.text
            assert anonymous.json()["error"] == "unauthorized"
            wrong = await codec.post(path, content=body, headers={**ui, "authorization": "Bearer guess"})
            assert wrong.status_code == 401
        async with _codec_client(production, peer="203.0.113.9", host="codec.example.com") as codec:
            assert (await codec.post(path, content=body, headers=operator)).status_code == 200
    async with _codec_client(production) as codec:
        decoded = await codec.post("/decode", content=body, headers=operator)
        assert json_format.Parse(decoded.content, Payloads()).payloads[0].data == MARKER.encode()
    no_token = settings.model_copy(update={"environment": "production"})
    async with _codec_client(no_token) as codec:  # no CODEC_TOKEN set: no bearer opens it
        assert (
            await codec.post("/decode", content=body, headers={"authorization": "Bearer "})
        ).status_code == 401

    # development (the test settings): the Web UI on this machine, and nothing else without a credential
    async with _codec_client(settings) as codec:
        assert (await codec.post("/decode", content=body, headers=ui)).status_code == 200
        for headers in ({}, {"origin": "https://evil.example"}, {"origin": "null"}):
            refused = await codec.post("/decode", content=body, headers=headers)
            assert refused.status_code == 403, headers
            assert refused.json()["error"] == "forbidden"
    async with _codec_client(settings, host=f"rebound.example:{settings.api_port}") as codec:
        assert (await codec.post("/decode", content=body, headers=ui)).status_code == 403  # DNS rebinding
    async with _codec_client(settings, peer="192.168.1.20") as codec:
        assert (await codec.post("/decode", content=body, headers=ui)).status_code == 401  # another machine
    async with _codec_client(settings, host=f"localhost:{settings.api_port}") as codec:
        assert (await codec.post("/decode", content=body, headers=ui)).status_code == 200


async def test_the_codec_takes_bodies_up_to_the_apis_limit_only(settings: Settings) -> None:
    limited = settings.model_copy(update={"codec_token": OPERATOR_TOKEN})
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}", "origin": settings.temporal_ui_url}
    big = b'{"payloads": [{"data": "' + b"A" * settings.max_body_bytes + b'"}]}'

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with _codec_client(limited) as codec:
        declared = await codec.post("/decode", content=big, headers=operator)
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"] == "payload_too_large"
        assert declared.headers["access-control-allow-origin"] == settings.temporal_ui_url
        chunked = await codec.post("/decode", content=streamed(), headers=operator)
        assert chunked.status_code == 413
        small = await codec.post("/decode", content=await _sealed_body(settings), headers=operator)
        assert small.status_code == 200
