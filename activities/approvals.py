"""The approval links activity: signs the pair of one-click links an approval step sends (signing needs
SECRET_KEY, which workflow code never holds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from core.contract import APPROVAL_LINKS_ACTIVITY, ApprovalLinks, ApprovalLinksRequest
from core.runs.approval_links import link_pair
from core.settings import Settings


class ApprovalActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn(name=APPROVAL_LINKS_ACTIVITY)
    async def approval_links(self, request: ApprovalLinksRequest) -> ApprovalLinks:
        deadline = datetime.fromisoformat(request.expires_at) if request.expires_at else None
        approve, reject, until = link_pair(
            self._settings.secret_key,
            self._settings.public_base_url,
            request.execution_id,
            request.step_id,
            deadline,
        )
        return ApprovalLinks(approve, reject, until.isoformat())

    def activities(self) -> list[Any]:
        return [self.approval_links]
