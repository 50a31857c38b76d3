"""A run's resume URL (core.runs.resume_links): a third party calls it back to resume the run's `wait`
step with what it sends. No login: the URL is the credential, it expires, and it works once per run."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from api.deps import ResourcesDep
from api.errors import error_responses
from core.errors import BatonError, InvalidInput
from core.runs.resume_links import resume_by_url

router = APIRouter(prefix="/resume", tags=["executions"])
MAX_BODY_BYTES = 256 * 1024


class BodyTooLarge(BatonError, status=413, kind="payload_too_large"):
    """The call's body is past MAX_BODY_BYTES."""


async def body_data(request: Request) -> Any:
    """The call's body as the event's data: JSON when it is JSON, else its text (None when empty)."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB", path="body")
    if not raw:
        return None
    if "json" in request.headers.get("content-type", ""):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"the body is not JSON: {exc}", path="body") from exc
    return raw.decode("utf-8", "replace")


@router.post("/{token}", responses=error_responses(404, 409, 413, 422))
async def resume(token: str, request: Request, resources: ResourcesDep) -> dict[str, Any]:
    """Resumes the run's waiting `wait` step: its output is the event `{name: the step's event, data: this
    call's body}`. 404 for a URL that is not valid or expired; 409 once it was used, or while the run waits
    for no event (call again once it does)."""
    service = await resources.run_service()
    resumed = await resume_by_url(
        resources.settings.secret_key,
        resources.redis,
        resources.keys,
        resources.engine,
        service.events,
        token,
        await body_data(request),
    )
    return {"executionId": resumed.execution_id, "stepId": resumed.step_id, "resumed": True}
