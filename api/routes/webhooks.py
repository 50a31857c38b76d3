"""A workspace's webhooks: their URLs and stats, and their signing secrets.

A secret Baton makes (`rotate-secret`, shown once) signs calls the Standard Webhooks way; a sender's own
secret (GitHub's, Stripe's, Slack's signing secret) is set with `PUT .../secret` and its scheme.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic.alias_generators import to_camel

from api.audit import AuditorDep
from api.deps import ResourcesDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.webhooks import SchemeSet, SecretIn, WebhookOut, WebhookSecret
from core.errors import BatonError, NotFound
from core.permissions import Permission
from core.triggers.inbound_auth import (
    SENDER_SCHEMES,
    BadAuthSettings,
    credential_header,
    sender_auth,
)
from core.triggers.signatures import SIGNATURE_HEADERS, check_sender_secret

router = APIRouter(prefix="/workspaces/{workspace_id}/webhooks", tags=["webhooks"])
ERRORS = error_responses(401, 403, 404)
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "workflows:read"))]
Editor = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "workflows:write"))]


class BadSecret(BatonError):
    status_code = 422
    kind = "invalid_secret"


def _out(row: dict[str, object], editor: bool) -> WebhookOut:
    signed = row.get("secret") is not None
    hidden = {} if editor else {"url": None, "token": None}  # a token starts runs: editors' only
    return WebhookOut.model_validate(
        {
            **row,
            **hidden,
            "has_secret": signed,
            "signature_scheme": row.get("signature_scheme") if signed else None,
        }
    )


@router.get("", response_model=Page[WebhookOut], responses=ERRORS)
async def list_webhooks(access: Reader, resources: ResourcesDep) -> Page[WebhookOut]:
    """Every webhook of the workspace: whether it is active and signed, its stats, and its URL and token to
    callers who may edit workflows (the token starts runs: VIEWERs and read-only keys get null)."""
    rows = await resources.webhooks.list_for_workspace(access.workspace.id)
    editor = access.may(Permission.EDIT, "workflows:write")
    return Page(items=[_out(row, editor) for row in rows])


async def _own(resources: ResourcesDep, access: WorkspaceAccess, webhook_id: str) -> None:
    if await resources.webhooks.workspace_of(webhook_id) != access.workspace.id:
        raise NotFound("webhook not found")


@router.post(
    "/{webhook_id}/rotate-secret",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookSecret,
    responses=ERRORS,
)
async def rotate_secret(
    webhook_id: str, access: Editor, resources: ResourcesDep, auditor: AuditorDep
) -> WebhookSecret:
    """Make a new Standard Webhooks secret (the old one stops working at once). From now on every call must
    carry `webhook-id`, `webhook-timestamp` (within 5 minutes) and `webhook-signature: v1,<base64
    HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`; unsigned, stale or replayed calls answer 401."""
    await _own(resources, access, webhook_id)
    secret = await resources.webhooks.rotate_secret(webhook_id)
    await auditor.in_workspace(access, "webhook.secret_rotated", "webhook", webhook_id)
    return WebhookSecret(webhook_id=webhook_id, secret=secret)


@router.put("/{webhook_id}/secret", response_model=SchemeSet, responses=error_responses(401, 403, 404, 422))
async def set_secret(
    webhook_id: str, body: SecretIn, access: Editor, resources: ResourcesDep, auditor: AuditorDep
) -> SchemeSet:
    """Verify calls with a sender's own secret, in its scheme: `github` (`X-Hub-Signature-256`), `stripe`
    (`Stripe-Signature`, the endpoint's `whsec_...` signing secret), `slack` (`X-Slack-Signature`, the
    app's signing secret) or `standard` (a `whsec_<base64>` secret another Standard Webhooks sender made).
    The secret is stored encrypted and never shown again. One anybody could guess is refused (422): at least
    16 characters besides whitespace and a `whsec_` prefix, 6 of them different (`standard`: a 16-byte key
    with 6 different byte values).

    Schemes with settings the sender chooses: `basic` (`username`; the secret is the password; no replay
    defence beyond TLS), `header` (`header`, optional `prefix` such as `Bearer `: the header must equal
    prefix + secret) and `hmac` (`header`, `algorithm`, `encoding`, `prefix`, `signed`: `body` or a template
    like `{timestamp}.{body}` with `timestampHeader` and `toleranceSeconds`). A setting the scheme does not
    take, or a wrong one (`algorithm: md4`), is a 422 naming it."""
    auth = None
    try:
        if body.scheme in SENDER_SCHEMES:
            auth = sender_auth(body.scheme, body.settings())
        elif field := next((name for name, value in body.settings().items() if value is not None), None):
            raise BadAuthSettings(to_camel(field), f"the {body.scheme} scheme takes no `{to_camel(field)}`")
    except BadAuthSettings as exc:
        raise BadSecret(str(exc), path=exc.field) from exc
    try:
        check_sender_secret(body.scheme, body.secret)
    except ValueError as exc:
        raise BadSecret(str(exc), path="secret") from exc
    await _own(resources, access, webhook_id)
    await resources.webhooks.set_secret(webhook_id, body.scheme, body.secret, auth)
    await auditor.in_workspace(
        access,
        "webhook.secret_set",
        "webhook",
        webhook_id,
        after={"signatureScheme": body.scheme},
    )
    header = SIGNATURE_HEADERS[body.scheme] if auth is None else credential_header(body.scheme, auth)
    return SchemeSet(webhook_id=webhook_id, signature_scheme=body.scheme, signature_header=header)


@router.delete("/{webhook_id}/secret", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def remove_secret(
    webhook_id: str, access: Editor, resources: ResourcesDep, auditor: AuditorDep
) -> None:
    """Stop requiring signatures on this webhook."""
    await _own(resources, access, webhook_id)
    await resources.webhooks.remove_secret(webhook_id)
    await auditor.in_workspace(access, "webhook.secret_removed", "webhook", webhook_id)
