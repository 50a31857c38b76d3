"""Blobs as objects in an S3-compatible bucket (`s3://bucket/prefix` in BLOB_STORE_URL): AWS S3, MinIO,
Ceph, R2 and the like, shared by every Baton process that reaches it.

The client is a small Signature Version 4 signer over httpx, not boto3/aioboto3: the store needs eight
requests (PUT, GET, HEAD, DELETE, ListObjectsV2, DeleteObjects), httpx is already how Baton speaks HTTP and
is async, whereas botocore is synchronous (aioboto3 adds aiohttp and pins botocore versions) and several
megabytes of service models for one service. The signer is checked against botocore's own in the tests.

- Addressing: path style (`{endpoint}/{bucket}/{key}`) against BLOB_S3_ENDPOINT (what MinIO and most
  S3-compatible servers expect); virtual-hosted (`https://{bucket}.s3.{region}.amazonaws.com`) when no
  endpoint is set, as AWS wants.
- Keys: the store's key under the URL's prefix (`s3://baton/blobs` keeps `workflows/...` at
  `blobs/workflows/...`). A PUT is atomic in S3: a reader sees the old object or the new one.
- Description: size and time from S3; the SHA-256 and content type are written with the object
  (`x-amz-meta-sha256`, `Content-Type`). `scan` lists (ListObjectsV2), which names no digest: its blobs'
  `sha256` is empty and their content type the default; `stat` has them (retention needs keys and times).
- A streamed body is spooled (in memory up to SPOOL_BYTES, then a temporary file) to learn its size and
  digest before the PUT, which S3 wants up front; the PUT then streams from the spool.
- The endpoint is Baton's own storage, set by the operator like DATABASE_URL: these requests are not a
  workflow's outbound calls and do not go through core.outbound's guard (no step chooses where they go).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

import httpx

from core.blobs.base import (
    CHUNK_BYTES,
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFound,
    Body,
    check_key,
    check_prefix,
)

SPOOL_BYTES = 8 * 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SHA256_META = "x-amz-meta-sha256"
SIGNED_HEADERS = ("host", "content-type", "content-md5")
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Error(RuntimeError):
    """S3 answered an error (its code and message, never the request's signature)."""


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str = ""


def _uri_encode(text: str, *, slash: bool = False) -> str:
    return quote(text, safe="-_.~/" if slash else "-_.~")


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    credentials: S3Credentials,
    region: str,
    now: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers of a request signed with AWS Signature Version 4 (`Authorization`, `x-amz-date`,
    `x-amz-content-sha256`, and the session token when there is one), `headers` included. Signs `host`,
    `content-type`, `content-md5` and every `x-amz-*` header; the path is taken as already encoded."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed: dict[str, str] = {k.lower(): str(v).strip() for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = sorted(n for n in signed if n in SIGNED_HEADERS or n.startswith("x-amz-"))
    query = []
    for pair in parts.query.split("&") if parts.query else []:
        key, _, value = pair.partition("=")
        query.append((_uri_encode(unquote(key)), _uri_encode(unquote(value))))
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            "&".join(f"{k}={v}" for k, v in sorted(query)),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = f"AWS4{credentials.secret_access_key}".encode()
    for part in (day, region, service, "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del signed["host"]  # httpx writes it
    return signed


class S3BlobStore:
    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str,
        credentials: S3Credentials,
        *,
        region: str = "us-east-1",
        endpoint: str = "",
        timeout: float = 60.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.region = region
        self._credentials = credentials
        if endpoint:
            self._base = f"{endpoint.rstrip('/')}/{_uri_encode(bucket)}"
        else:
            self._base = f"https://{bucket}.s3.{region}.amazonaws.com"
        self._client = httpx.AsyncClient(timeout=timeout)
        self.page_size = 1000  # keys per ListObjectsV2 and DeleteObjects request (S3's most)

    def _url(self, object_key: str = "") -> str:
        return f"{self._base}/{_uri_encode(object_key, slash=True)}"

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        payload_sha256: str = EMPTY_SHA256,
        stream: bool = False,
    ) -> httpx.Response:
        signed = sign(
            method, url, headers or {}, payload_sha256, self._credentials, self.region, datetime.now(UTC)
        )
        request = self._client.build_request(method, url, headers=signed, content=content)
        return await self._client.send(request, stream=stream)

    async def put(self, key: str, body: Body, *, content_type: str = DEFAULT_CONTENT_TYPE) -> BlobInfo:
        name = self._object(key)
        if isinstance(body, bytes):
            digest, size = hashlib.sha256(body).hexdigest(), len(body)
            content: bytes | AsyncIterator[bytes] = body
            spool: IO[bytes] | None = None
        else:
            spool, digest, size = await _spooled(body)
            content = _read_spool(spool)
        headers = {"content-type": content_type, "content-length": str(size), SHA256_META: digest}
        try:
            answer = await self._send(
                "PUT", self._url(name), headers=headers, content=content, payload_sha256=digest
            )
        finally:
            if spool is not None:
                spool.close()
        _check(answer, key)
        return BlobInfo(key, size, digest, content_type, _when(answer.headers.get("last-modified")))

    async def get(self, key: str) -> bytes:
        answer = await self._send("GET", self._url(self._object(key)))
        _check(answer, key)
        return answer.content

    async def open(self, key: str) -> AsyncIterator[bytes]:
        answer = await self._send("GET", self._url(self._object(key)), stream=True)
        try:
            if answer.status_code >= 300:
                await answer.aread()
                _check(answer, key)
            async for chunk in answer.aiter_bytes(CHUNK_BYTES):
                yield chunk
        finally:
            await answer.aclose()

    async def stat(self, key: str) -> BlobInfo:
        answer = await self._send("HEAD", self._url(self._object(key)))
        _check(answer, key)
        digest = answer.headers.get(SHA256_META, "")
        if not digest:  # an object written by something else than Baton
            sha = hashlib.sha256()
            async for chunk in self.open(key):
                sha.update(chunk)
            digest = sha.hexdigest()
        return BlobInfo(
            key,
            int(answer.headers.get("content-length", "0")),
            digest,
            answer.headers.get("content-type", DEFAULT_CONTENT_TYPE),
            _when(answer.headers.get("last-modified")),
        )

    async def exists(self, key: str) -> bool:
        answer = await self._send("HEAD", self._url(self._object(key)))
        if answer.status_code == 404:
            return False
        _check(answer, key)
        return True

    async def delete(self, key: str) -> bool:
        # S3 answers 204 whether or not there was an object: ask first, as the interface says
        if not await self.exists(key):
            return False
        answer = await self._send("DELETE", self._url(self._object(key)))
        _check(answer, key)
        return True

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        keys = [info.key async for info in self.scan(prefix)]
        for start in range(0, len(keys), self.page_size):
            await self._delete_many([self.prefix + k for k in keys[start : start + self.page_size]])
        return len(keys)

    async def _delete_many(self, names: list[str]) -> None:
        objects = "".join(f"<Object><Key>{_xml_text(n)}</Key></Object>" for n in names)
        body = f'<Delete xmlns="{_NS[1:-1]}"><Quiet>true</Quiet>{objects}</Delete>'.encode()
        # DeleteObjects wants the body's MD5
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        headers = {"content-md5": md5, "content-type": "application/xml"}
        answer = await self._send(
            "POST",
            f"{self._base}/?delete=",
            headers=headers,
            content=body,
            payload_sha256=hashlib.sha256(body).hexdigest(),
        )
        _check(answer, names[0])
        errors = ElementTree.fromstring(answer.content).findall(f"{_NS}Error")
        if errors:
            first = errors[0]
            raise S3Error(
                f"S3 did not delete {len(errors)} objects: {first.findtext(f'{_NS}Code')} "
                f"({first.findtext(f'{_NS}Key')})"
            )

    async def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        listed = self.prefix + check_prefix(prefix)
        token = ""
        while True:
            query = f"list-type=2&max-keys={self.page_size}&prefix={_uri_encode(listed)}"
            if token:
                query += f"&continuation-token={_uri_encode(token)}"
            answer = await self._send("GET", f"{self._base}/?{query}")
            _check(answer, prefix or "/")
            page = ElementTree.fromstring(answer.content)
            for item in page.findall(f"{_NS}Contents"):
                name = item.findtext(f"{_NS}Key", "")
                yield BlobInfo(
                    name[len(self.prefix) :],
                    int(item.findtext(f"{_NS}Size", "0")),
                    "",
                    DEFAULT_CONTENT_TYPE,
                    _iso(item.findtext(f"{_NS}LastModified", "")),
                )
            token = page.findtext(f"{_NS}NextContinuationToken", "")
            if page.findtext(f"{_NS}IsTruncated", "false") != "true" or not token:
                return

    async def close(self) -> None:
        await self._client.aclose()


async def _spooled(body: AsyncIterable[bytes]) -> tuple[IO[bytes], str, int]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in body:
            digest.update(chunk)
            size += len(chunk)
            await asyncio.to_thread(spool.write, chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, digest.hexdigest(), size


async def _read_spool(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
        yield chunk


def _check(answer: httpx.Response, key: str) -> None:
    """Nothing when S3 answered success; BlobNotFound for a missing key (a HEAD's 404 has no body); S3Error
    otherwise, a missing bucket included (a store set up wrong is not an empty one)."""
    if answer.status_code < 300:
        return
    code, message = "", ""
    if answer.content:
        try:
            error = ElementTree.fromstring(answer.content)
            code, message = error.findtext("Code", ""), error.findtext("Message", "")
        except ElementTree.ParseError:
            message = answer.text[:200]
    if answer.status_code == 404 and code in ("", "NoSuchKey"):
        raise BlobNotFound(key)
    raise S3Error(f"S3 answered {answer.status_code} for {key!r}: {code} {message}".rstrip())


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(header: str | None) -> datetime:
    if not header:
        return datetime.now(UTC)
    return parsedate_to_datetime(header).astimezone(UTC)


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else datetime.now(UTC)
