"""Where Baton keeps bytes too large for where they would otherwise go: today the values too large for a
run's Temporal history (`claims`, the claim-check seam), next the files and large data steps handle.

The interface is `core.blobs.base`; one module per backend (`filesystem`, `s3` for `s3://bucket/prefix`);
`create_blob_store` picks the backend from BLOB_STORE_URL (empty: none).

What Temporal offers, looked at first (temporalio 1.35, the SDK Baton runs on): `DataConverter` takes an
`external_storage` (`temporalio.converter.ExternalStorage`, experimental) holding `StorageDriver`s; any
payload at least `payload_size_threshold` bytes, after the payload codec has encoded it, is handed to a
driver and replaced in history by an `ExternalStorageReference` (`json/protobuf`), resolved again on
decode before the codec. The driver is told which workflow (or activity) the payload is stored for;
serialization contexts (`WithSerializationContext`) give the same to codecs, but a codec cannot mark its
output as a reference the Web UI or the replayer know. The SDK ships S3 and GCS drivers
(`temporalio.contrib.aws.s3driver`, `temporalio.contrib.gcp.gcsdriver`), content-addressed by SHA-256 under
namespace and workflow. So Baton writes a driver over its own store, not a codec of its own.

Retention (core.ops.retention) sweeps blobs by owner: a run's are removed once its execution row is gone
(removed by retention, or with its workspace), other workflows' once older than the longest execution
retention of any plan."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.blobs.base import (
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    check_key,
    segment,
)
from core.blobs.filesystem import FileBlobStore
from core.blobs.s3 import S3BlobStore, S3Credentials
from core.settings import Settings

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "FileBlobStore",
    "InvalidBlobKey",
    "S3BlobStore",
    "UnsupportedBlobStore",
    "check_key",
    "create_blob_store",
    "run_value_limit",
    "segment",
]


class UnsupportedBlobStore(ValueError):
    """BLOB_STORE_URL names a kind of store Baton has no backend for."""


def create_blob_store(settings: Settings) -> BlobStore | None:
    url = settings.blob_store_url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
            raise UnsupportedBlobStore(f"BLOB_STORE_URL {url!r}: a file URL names a local path (file:///...)")
        return FileBlobStore(Path(unquote(parts.path) if parts.scheme else url).expanduser())
    if parts.scheme == "s3":
        return _s3_store(url, parts.netloc, parts.path, settings)
    raise UnsupportedBlobStore(f"BLOB_STORE_URL {url!r}: file:///path or s3://bucket/prefix")


def _s3_store(url: str, bucket: str, path: str, settings: Settings) -> S3BlobStore:
    if not bucket:
        raise UnsupportedBlobStore(f"BLOB_STORE_URL {url!r}: name the bucket (s3://bucket/prefix)")
    if not (settings.blob_s3_access_key_id and settings.blob_s3_secret_access_key):
        raise UnsupportedBlobStore(
            "an s3:// BLOB_STORE_URL needs BLOB_S3_ACCESS_KEY_ID and BLOB_S3_SECRET_ACCESS_KEY"
        )
    credentials = S3Credentials(settings.blob_s3_access_key_id, settings.blob_s3_secret_access_key)
    return S3BlobStore(
        bucket,
        unquote(path),
        credentials,
        region=settings.blob_s3_region,
        endpoint=settings.blob_s3_endpoint,
    )


def run_value_limit(settings: Settings) -> int:
    """The largest value a run started now may hand on (RunInput.value_limit): MAX_VALUE_BYTES with a blob
    store, 0 without one (the limits of before; core.contract.names.too_large)."""
    return settings.max_value_bytes if settings.blob_store_url.strip() else 0
