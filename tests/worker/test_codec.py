"""Temporal holds ciphertext: trigger data, step outputs and failures are sealed with a key derived from
ENCRYPTION_KEY (core.codec), and the codec endpoint (`baton codec-server`) opens them for the Web UI."""

from __future__ import annotations

import json

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
    app = create_codec_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as codec:
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
