"""Bodies of the webhook endpoints: URLs and stats, signing secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel, RequestBody
from core.triggers.inbound_auth import Algorithm, Encoding
from core.triggers.signatures import SIGNATURE_HEADERS, Scheme


class WebhookOut(ApiModel):
    id: str
    workflow_id: str
    workflow_name: str
    url: str | None = Field(
        description="The address that starts runs; null for callers who may not edit workflows (VIEWERs, "
        "keys without workflows:write)"
    )
    token: str | None = Field(description="The secret part of `url`; null like `url`")
    is_active: bool
    has_secret: bool = Field(description="Calls must be signed, in `signatureScheme`")
    signature_scheme: Scheme | None = Field(
        description="How calls are signed when `hasSecret`: standard (Standard Webhooks), github, stripe, "
        "slack, baton-v1 (X-Baton-Signature, secrets made before Standard Webhooks), or basic, header, hmac "
        "(settings the sender chose)"
    )
    total_calls: int
    last_called_at: datetime | None
    created_at: datetime


class WebhookSecret(ApiModel):
    webhook_id: str
    secret: str = Field(
        description="Shown this once; a Standard Webhooks secret (`whsec_<base64 key>`): sign each call "
        "with `webhook-id`, `webhook-timestamp` and `webhook-signature` (any Standard Webhooks library does)"
    )
    signature_scheme: Scheme = "standard"
    signature_header: str = SIGNATURE_HEADERS["standard"]


class SecretIn(RequestBody):
    """A sender's own signing secret, e.g. `{"scheme": "github", "secret": "<the GitHub webhook's>"}`, or
    the settings of a scheme the sender chooses: `{"scheme": "basic", "username": "shop", "secret":
    "<password>"}`, `{"scheme": "header", "header": "X-Api-Key", "secret": "<token>"}`, `{"scheme": "hmac",
    "header": "X-Shopify-Hmac-Sha256", "encoding": "base64", "secret": "<the app's secret>"}`. A setting the
    scheme does not take is refused (422 naming it)."""

    scheme: Scheme = Field(description="standard, github, stripe, slack, baton-v1, basic, header or hmac")
    secret: str = Field(
        min_length=8,
        max_length=512,
        description="The secret the sender signs with (basic: the password; header: the token)",
    )
    username: str | None = Field(default=None, description="basic: the user the sender sends")
    header: str | None = Field(
        default=None,
        description="header: the header carrying the token (`X-Api-Key`, `Authorization`); hmac: the header "
        "carrying the signature (`X-Shopify-Hmac-Sha256`)",
    )
    prefix: str | None = Field(
        default=None,
        description="header, hmac: what comes before the token or signature (`Bearer `, `sha256=`)",
    )
    algorithm: Algorithm | None = Field(default=None, description="hmac: sha1, sha256 (default) or sha512")
    encoding: Encoding | None = Field(default=None, description="hmac: hex (default) or base64")
    signed: str | None = Field(
        default=None,
        description="hmac: `body` (default) or a template of what is signed, e.g. `{timestamp}.{body}`",
    )
    timestamp_header: str | None = Field(
        default=None, description="hmac: the header carrying the Unix time that `{timestamp}` stands for"
    )
    tolerance_seconds: int | None = Field(
        default=None,
        description="hmac with timestampHeader: how far the timestamp may be from now (default "
        "WEBHOOK_SIGNATURE_TOLERANCE_SECONDS, 300)",
    )

    def settings(self) -> dict[str, Any]:
        """The scheme settings given, snake_case (None: not given)."""
        return self.model_dump(exclude={"scheme", "secret"})


class SchemeSet(ApiModel):
    webhook_id: str
    signature_scheme: Scheme
    signature_header: str
