"""Bodies of the webhook endpoints: URLs and stats, signing secrets."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.base import ApiModel
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
        "slack, or baton-v1 (X-Baton-Signature, secrets made before Standard Webhooks)"
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


class SecretIn(ApiModel):
    """A sender's own signing secret, e.g. `{"scheme": "github", "secret": "<the GitHub webhook's>"}`."""

    scheme: Scheme = Field(description="standard, github, stripe, slack or baton-v1")
    secret: str = Field(min_length=8, max_length=512, description="The secret the sender signs with")


class SchemeSet(ApiModel):
    webhook_id: str
    signature_scheme: Scheme
    signature_header: str
