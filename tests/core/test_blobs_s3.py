"""What only the S3 backend has (tests/core/test_blobs.py runs the store's contract on it): requests signed
as AWS does (Signature Version 4, checked against botocore's signer), listings and deletes past one page,
keys under the URL's prefix, and S3's errors named without the request's signature."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from core.blobs import S3BlobStore
from core.blobs.s3 import EMPTY_SHA256, S3Credentials, S3Error, sign
from core.settings import Settings
from tests.s3_server import ACCESS_KEY, SECRET_KEY, S3Server

CREDENTIALS = S3Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def botocore_authorization(
    method: str, url: str, headers: dict[str, str], body: bytes, token: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    request = AWSRequest(method=method, url=url, headers=headers, data=body)
    credentials = Credentials(CREDENTIALS.access_key_id, CREDENTIALS.secret_access_key, token or None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    S3SigV4Auth(credentials, "s3", "eu-west-3").add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "token"),
    [
        ("GET", "https://b.s3.eu-west-3.amazonaws.com/workflows/run-1/abc", {}, b"", ""),
        (
            "PUT",
            "http://127.0.0.1:9000/bucket/p/a%20b/c.json",
            {"Content-Type": "application/json", "x-amz-meta-sha256": "00ff"},
            b'{"a": 1}',
            "session-token",
        ),
        ("GET", "http://127.0.0.1:9000/bucket/?list-type=2&max-keys=2&prefix=blobs%2Fw%2F", {}, b"", ""),
    ],
)
def test_requests_are_signed_as_botocore_signs_them(
    method: str, url: str, headers: dict[str, str], body: bytes, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = hashlib.sha256(body).hexdigest()
    credentials = S3Credentials(CREDENTIALS.access_key_id, CREDENTIALS.secret_access_key, token)
    ours = sign(method, url, headers, digest, credentials, "eu-west-3", NOW)
    theirs = botocore_authorization(
        method, url, {**headers, "x-amz-content-sha256": digest}, body, token, monkeypatch
    )
    assert ours["authorization"] == theirs
    assert ours["x-amz-date"] == "20260304T050607Z"
    assert "host" not in ours


async def test_listings_and_deletes_go_past_one_page_under_the_urls_prefix(
    s3_server: S3Server, settings: Settings
) -> None:
    store = s3_server.store(settings, prefix="tenant/blobs")
    store.page_size = 2
    try:
        for n in range(5):
            await store.put(f"w/run-a/{n}", b"x" * n)
        await store.put("w/run-b/0", b"y")
        assert sorted([b.key async for b in store.scan("w/run-a/")]) == [f"w/run-a/{n}" for n in range(5)]
        assert [b.size async for b in store.scan("w/run-b/")] == [1]
        # the objects sit under the URL's prefix, nothing outside it
        listing = await raw_listing(s3_server, store)
        assert all(key.startswith("tenant/blobs/w/") for key in listing)
        assert await store.delete_prefix("w/run-a/") == 5
        assert [b.key async for b in store.scan()] == ["w/run-b/0"]
    finally:
        await store.close()


async def test_s3s_errors_name_the_key_and_never_the_signature(s3_server: S3Server) -> None:
    store = S3BlobStore(
        "no-such-bucket-here",
        "p",
        S3Credentials(ACCESS_KEY, SECRET_KEY),
        endpoint=s3_server.endpoint,
    )
    try:
        with pytest.raises(S3Error) as failure:
            await store.put("a/b", b"x")
        assert "'a/b'" in str(failure.value)
        assert "NoSuchBucket" in str(failure.value)
        assert "Signature" not in str(failure.value)
        assert SECRET_KEY not in str(failure.value)
    finally:
        await store.close()


async def test_a_stream_larger_than_the_spool_is_put_whole(s3_server: S3Server, settings: Settings) -> None:
    import core.blobs.s3 as s3

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(40):
            yield bytes([n]) * 100_000

    store = s3_server.store(settings)
    spool, s3.SPOOL_BYTES = s3.SPOOL_BYTES, 1_000_000  # past it, the spool is a temporary file
    try:
        info = await store.put("big/one", chunks(), content_type="text/csv")
        assert (info.size, (await store.stat("big/one")).content_type) == (4_000_000, "text/csv")
        streamed = b"".join([c async for c in store.open("big/one")])
        assert streamed == b"".join(bytes([n]) * 100_000 for n in range(40))
    finally:
        s3.SPOOL_BYTES = spool
        await store.close()


async def raw_listing(server: S3Server, store: S3BlobStore) -> list[str]:
    from xml.etree import ElementTree

    url = f"{server.endpoint}/{store.bucket}/?list-type=2"
    headers = sign("GET", url, {}, EMPTY_SHA256, S3Credentials(ACCESS_KEY, SECRET_KEY), "us-east-1", NOW)
    async with httpx.AsyncClient() as client:
        answer = await client.get(url, headers=headers)
    namespace = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    return [e.text or "" for e in ElementTree.fromstring(answer.content).iter(f"{namespace}Key")]
