"""Encryption of what Baton writes to Temporal: run inputs (trigger data), step outputs, results, queries,
updates and failures are sealed with AES-256-GCM before they leave the process, so Temporal's database
(and anyone reading its history) holds ciphertext. The key is derived with HKDF from ENCRYPTION_KEY (or
SECRET_KEY when unset), like the credentials' key but for its own purpose; several comma-separated secrets
rotate as in core.crypto: the first seals, each opens what it sealed (a payload names its key's id).

A payload that is not sealed (a history recorded before the codec, a client without it) passes through
unchanged, so runs in flight and recorded histories keep replaying. The Temporal Web UI shows sealed
payloads decoded through the codec endpoint (`baton codec-server`, wired by `baton dev`).

With a blob store (BLOB_STORE_URL), payloads still over BLOB_THRESHOLD_BYTES once sealed are stored aside
and history keeps a reference (core.blobs.claims): `data_converter` wires Temporal's external storage in,
and `WebUICodec` resolves references before opening them, for the codec endpoint."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1.external_storage_pb2 import ExternalStorageReference
from temporalio.converter import DataConverter, PayloadCodec, StorageDriverClaim, StorageDriverRetrieveContext

from core.blobs import BlobNotFound, BlobStore, InvalidBlobKey, create_blob_store
from core.blobs.claims import DRIVER_NAME, BlobIntegrityError, BlobStorageDriver, external_storage
from core.crypto import derive_raw_key
from core.payloads import BatonPayloadConverter
from core.run_failures import RunFailureConverter, SealedRunFailureConverter
from core.settings import Settings

PAYLOADS_PURPOSE = b"baton/temporal-payloads/v1"
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class UnknownPayloadKey(ValueError):
    """A sealed payload whose key is not among the configured ones (ENCRYPTION_KEY changed)."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, secret: str) -> None:
        secrets = [s.strip() for s in secret.split(",") if s.strip()]
        if not secrets:
            raise ValueError("an encryption key is empty")
        keys = [derive_raw_key(s, PAYLOADS_PURPOSE) for s in secrets]
        self._ciphers = {key_id(key): AESGCM(key) for key in keys}
        self._current = key_id(keys[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> EncryptionCodec:
        return cls(settings.encryption_key or settings.secret_key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self._current.encode()}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec, or by a client without it
        name = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(name)
        if cipher is None:
            raise UnknownPayloadKey(
                f"a Temporal payload is sealed with key {name!r}, which is not in ENCRYPTION_KEY "
                "(keep the old secret after the new one until the runs it sealed have ended)"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise UnknownPayloadKey("a sealed Temporal payload was altered or is corrupt") from exc
        return Payload.FromString(plain)


def key_id(key: bytes) -> str:
    """A key's public name: not the key, and not enough to find it."""
    return hashlib.sha256(b"baton-key-id:" + key).hexdigest()[:16]


def data_converter(settings: Settings) -> DataConverter:
    """The converter every Temporal client of Baton uses (API, worker, CLI commands)."""
    converter = dataclasses.replace(
        DataConverter.default,
        payload_converter_class=BatonPayloadConverter,
        failure_converter_class=RunFailureConverter,  # a run's failure without Baton's stack trace
    )
    blobs = create_blob_store(settings)
    if blobs is not None:
        converter = dataclasses.replace(
            converter, external_storage=external_storage(blobs, settings.blob_threshold_bytes)
        )
    if not settings.temporal_encrypt_payloads:
        return converter
    return dataclasses.replace(
        converter,
        payload_codec=EncryptionCodec.from_settings(settings),
        # failure messages carry users' data too (an HTTP error body): sealed with the rest
        failure_converter_class=SealedRunFailureConverter,
    )


REFERENCE_TYPE = ExternalStorageReference.DESCRIPTOR.full_name.encode()


class UnreadableReference(UnknownPayloadKey):
    """A reference to a stored payload that cannot be followed (no blob store here, the blob is gone or
    altered)."""


class WebUICodec(PayloadCodec):
    """What the codec endpoint decodes with: a history's references to stored payloads are followed (the
    Web UI sends them as they are in history), then sealed payloads opened. Encoding only seals: what the
    UI encodes (a signal's input) is small, and the client that sends it stores what is not."""

    def __init__(self, encryption: EncryptionCodec, blobs: BlobStore | None) -> None:
        self._encryption = encryption
        self._driver = BlobStorageDriver(blobs) if blobs is not None else None

    @classmethod
    def from_settings(cls, settings: Settings) -> WebUICodec:
        return cls(EncryptionCodec.from_settings(settings), create_blob_store(settings))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._encryption.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._encryption.decode([await self._follow(p) for p in payloads])

    async def _follow(self, payload: Payload) -> Payload:
        if payload.metadata.get("messageType") != REFERENCE_TYPE:
            return payload
        try:
            reference = json_format.Parse(payload.data, ExternalStorageReference())
        except json_format.ParseError as exc:
            raise UnreadableReference(f"a reference to a stored payload is not one: {exc}") from exc
        if reference.driver_name != DRIVER_NAME or self._driver is None:
            raise UnreadableReference(
                f"a payload is stored aside by {reference.driver_name!r}, which this codec cannot read "
                "(set BLOB_STORE_URL as the worker has it)"
            )
        claim = StorageDriverClaim(dict(reference.claim_data))
        try:
            [stored] = await self._driver.retrieve(StorageDriverRetrieveContext(), [claim])
        except (BlobNotFound, BlobIntegrityError, InvalidBlobKey, KeyError) as exc:
            raise UnreadableReference(f"a stored payload cannot be read: {exc}") from exc
        return stored
