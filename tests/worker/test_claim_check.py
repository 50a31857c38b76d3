"""Values too large for a run's Temporal history are stored aside (core.blobs.claims), on the filesystem and
on S3: with BLOB_STORE_URL set, a run's large input and an action's large answer leave only references in
history, later steps' expressions and the steps' rows (what the API serves) read the values, and the codec
endpoint follows the references for the Web UI. The blobs at rest are ciphertext, like the history they
stand in for."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.sdk.v1.external_storage_pb2 import ExternalStorageReference

from api.codec import create_codec_app
from core.blobs import create_blob_store
from core.codec import REFERENCE_TYPE
from core.contract import RunResult
from core.settings import Settings
from tests.engine import Engine, history_payloads, output
from tests.http_server import Reply, ScriptedServer
from tests.s3_server import S3Server

THRESHOLD = 64 * 1024
SIZE = 900_000  # under the 1 MiB a value may take in a run, well over what history should hold
ANSWER = 200_000  # under the 256 KiB an action's output may be today
OPERATOR_TOKEN = "operator-codec-token-claim-check-7d1e"


@pytest.fixture(params=["file", "s3"])
def settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    """The blob store on each backend: a folder, or a bucket of a local S3 server (tests/s3_server.py)."""
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        stored = server.settings(settings)
    else:
        stored = settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})
    return stored.model_copy(update={"blob_threshold_bytes": THRESHOLD})


def is_reference(payload: Payload) -> bool:
    return payload.metadata.get("messageType") == REFERENCE_TYPE


async def test_a_large_step_output_is_a_reference_in_history_and_the_value_everywhere_else(
    engine_worker: Engine, settings: Settings, http_server: ScriptedServer
) -> None:
    url = http_server.script("/export", Reply(200, {"rows": "r" * ANSWER}))
    steps = [
        {"id": "big", "type": "set", "values": {"text": "{{ trigger.text }}"}},
        {"id": "fetch", "type": "action", "action": "http.request", "input": {"url": url}},
        {
            "id": "after",
            "type": "set",
            "values": {
                "length": "{{ steps.big.output.text | length }}",
                "rows": "{{ steps.fetch.output.body.rows | length }}",
            },
        },
    ]
    # the run's input is as large: stored aside by the client that starts the run
    handle = await engine_worker.start(steps, {"text": "ab" * (SIZE // 2)})
    result = await handle.result()
    assert isinstance(result, RunResult)
    assert result.status == "SUCCESS", result

    rows = await engine_worker.step_rows(handle)
    assert output(rows["after"]) == {"length": SIZE, "rows": ANSWER}
    assert output(rows["big"])["text"] == "ab" * (SIZE // 2)

    raw = await history_payloads(engine_worker.client, handle.id, decoded=False)
    assert max(p.ByteSize() for p in raw) < THRESHOLD
    references = [p for p in raw if is_reference(p)]
    # the run's input (stored by the client that started it) and the action's answer (by the worker)
    assert len(references) >= 2

    store = create_blob_store(settings)
    assert store is not None
    try:
        blobs = [b.key async for b in store.scan()]
        assert blobs
        assert all(key.startswith(f"workflows/{handle.id}") for key in blobs)
        stored = [await store.get(key) for key in blobs]
        assert all(b"abababab" not in data for data in stored)  # sealed before it was stored
    finally:
        await store.close()

    app = create_codec_app(settings.model_copy(update={"codec_token": OPERATOR_TOKEN}))
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}", "content-type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec", headers=operator) as codec:
        body = json_format.MessageToJson(Payloads(payloads=references))
        answer = await codec.post("/default/decode", content=body)
        assert answer.status_code == 200, answer.text[:500]
        decoded = json_format.Parse(answer.content, Payloads()).payloads
        assert [p.metadata["encoding"] for p in decoded] == [b"json/plain"] * len(references)
        assert any(("ab" * 1000) in json.dumps(json.loads(p.data)) for p in decoded)

        forged = ExternalStorageReference(
            driver_name="baton-blobs", claim_data={"key": "../../../etc/passwd", "sha256": "0"}
        )
        traversal = Payload(
            metadata={"encoding": b"json/protobuf", "messageType": REFERENCE_TYPE},
            data=json_format.MessageToJson(forged).encode(),
        )
        refused = await codec.post(
            "/default/decode", content=json_format.MessageToJson(Payloads(payloads=[traversal]))
        )
        assert refused.status_code == 422  # a reference cannot name a file outside the store

        unreadable = create_codec_app(
            settings.model_copy(update={"codec_token": OPERATOR_TOKEN, "blob_store_url": ""})
        )
        transport = httpx.ASGITransport(app=unreadable)
        async with httpx.AsyncClient(transport=transport, base_url="http://codec", headers=operator) as other:
            refused = await other.post("/default/decode", content=body)
            assert refused.status_code == 422
            assert "BLOB_STORE_URL" in refused.json()["detail"]
