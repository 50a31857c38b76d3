"""A local S3-speaking server for the blob store's tests: moto's ThreadedMotoServer on 127.0.0.1 (S3's REST
API over HTTP, path-style), one per test session, a fresh bucket per test. Use it with
`s3_blob_settings(server, settings)` or `s3_store(server)`; `age` moves an object's LastModified back (what
S3 cannot be asked to do: retention tests need old blobs)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.blobs import S3BlobStore, create_blob_store
from core.blobs.s3 import EMPTY_SHA256, S3Credentials, sign
from core.settings import Settings

ACCESS_KEY = "AKIDBATONTEST"
SECRET_KEY = "baton-test-secret-key-not-real"
REGION = "us-east-1"


class S3Server:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def new_bucket(self) -> str:
        bucket = f"baton-{uuid.uuid4().hex[:12]}"
        url = f"{self.endpoint}/{bucket}"
        headers = sign(
            "PUT", url, {}, EMPTY_SHA256, S3Credentials(ACCESS_KEY, SECRET_KEY), REGION, datetime.now(UTC)
        )
        answer = httpx.put(url, headers=headers)
        assert answer.status_code == 200, answer.text
        return bucket

    def settings(self, settings: Settings, prefix: str = "blobs") -> Settings:
        """`settings` with a new bucket of this server as its blob store."""
        return settings.model_copy(
            update={
                "blob_store_url": f"s3://{self.new_bucket()}/{prefix}",
                "blob_s3_endpoint": self.endpoint,
                "blob_s3_region": REGION,
                "blob_s3_access_key_id": ACCESS_KEY,
                "blob_s3_secret_access_key": SECRET_KEY,
            }
        )

    def store(self, settings: Settings, prefix: str = "blobs") -> S3BlobStore:
        store = create_blob_store(self.settings(settings, prefix))
        assert isinstance(store, S3BlobStore)
        return store


def age(store: S3BlobStore, key: str, days: float) -> None:
    """Moves the object's LastModified `days` back, in the server's own state (it runs in this process)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[store.bucket]
    obj = bucket.keys[store.prefix + key]
    obj.last_modified = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
