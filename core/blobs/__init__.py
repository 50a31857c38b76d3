"""Where Baton keeps bytes too large for where they would otherwise go: today the values too large for a
run's Temporal history (`claims`, the claim-check seam), next the files and large data steps handle.

The interface is `core.blobs.base`; one module per backend (`filesystem`; S3 is meant to be a sibling
module, `s3://bucket/prefix`); `create_blob_store` picks the backend from BLOB_STORE_URL (empty: none).

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
from core.settings import Settings

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "FileBlobStore",
    "InvalidBlobKey",
    "UnsupportedBlobStore",
    "check_key",
    "create_blob_store",
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
    raise UnsupportedBlobStore(
        f"BLOB_STORE_URL {url!r}: only file:///path is supported so far (s3:// is planned)"
    )
