"""The claim-check seam: Temporal's own external storage (temporalio 1.35 `ExternalStorage`, a
`StorageDriver`) backed by Baton's blob store.

Why this and not a codec of our own: the SDK already does the claim check at every edge where payloads are
encoded or decoded (client, workflow worker, activity worker, replayer), after the payload codec has sealed
the payload, and it hands the driver the workflow a payload belongs to (`StorageDriverStoreContext`), which a
`PayloadCodec` never learns. So a value over BLOB_THRESHOLD_BYTES leaves history as a small
`ExternalStorageReference` payload, the blob holds the sealed payload (ciphertext at rest), workflow code and
expressions see the real value with no change to the interpreter, and a run's blobs sit under its own prefix,
which is how retention removes them with the run.

Keys: `workflows/<workflow id>/<sha256 of the sealed payload>` (activity heartbeats without a workflow:
`activities/<activity id>/...`, anything else `unowned/...`). A run's workflow id is `run-<execution id>`,
and the chunk workflows of a loop `run-<execution id>-...`, so `execution_of` finds the run of any of them.
The claim carries the digest, checked on read: a blob that was changed or swapped does not decode."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ExternalStorage,
    StorageDriver,
    StorageDriverActivityInfo,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

from core.blobs.base import BlobStore, segment

DRIVER_NAME = "baton-blobs"
PAYLOAD_CONTENT_TYPE = "application/x-temporal-payload"
WORKFLOWS = "workflows/"
_RUN_ID = re.compile(r"run-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:$|-)")


class BlobIntegrityError(ValueError):
    """A stored payload does not match its claim (altered, or another blob under its key)."""


class BlobStorageDriver(StorageDriver):
    def __init__(self, store: BlobStore) -> None:
        self.blobs = store

    def name(self) -> str:
        return DRIVER_NAME

    def type(self) -> str:
        return "baton.blobs"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        owner = owner_prefix(context)
        claims = []
        for payload in payloads:
            data = payload.SerializeToString()
            digest = hashlib.sha256(data).hexdigest()
            key = owner + digest
            # the same sealed bytes under the same owner are the same blob: a retried task writes nothing
            if not await self.blobs.exists(key):
                await self.blobs.put(key, data, content_type=PAYLOAD_CONTENT_TYPE)
            claims.append(StorageDriverClaim({"key": key, "sha256": digest}))
        return claims

    async def retrieve(
        self,
        context: StorageDriverRetrieveContext,  # noqa: ARG002 (the SDK's signature; a claim says it all)
        claims: Sequence[StorageDriverClaim],
    ) -> list[Payload]:
        found = []
        for claim in claims:
            key = claim.claim_data["key"]
            data = await self.blobs.get(key)
            expected = str(claim.claim_data.get("sha256", ""))
            if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), expected):
                raise BlobIntegrityError(f"the blob {key!r} does not match the reference to it")
            found.append(Payload.FromString(data))
        return found


def external_storage(store: BlobStore, threshold: int) -> ExternalStorage:
    return ExternalStorage(drivers=[BlobStorageDriver(store)], payload_size_threshold=threshold)


def owner_prefix(context: StorageDriverStoreContext) -> str:
    target = context.target
    if isinstance(target, StorageDriverWorkflowInfo) and target.id:
        return f"{WORKFLOWS}{segment(target.id)}/"
    if isinstance(target, StorageDriverActivityInfo) and target.id:
        return f"activities/{segment(target.id)}/"
    return "unowned/"


def execution_of(workflow_id: str) -> str | None:
    """The execution a workflow id belongs to (a run's, or a chunk of its loop's), None for Baton's other
    workflows (batches, schedules, debounce, maintenance)."""
    match = _RUN_ID.match(workflow_id)
    return match.group(1) if match else None
