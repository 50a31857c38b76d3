"""The approval links activity: seals the pair of stand-ins an approval step hands its notify steps (sealing
needs SECRET_KEY, which workflow code never holds). An action turns them into the signed one-click links
in what it sends, and only there (core.runs.approval_links.RunLinks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from core.contract import APPROVAL_LINKS_ACTIVITY, ApprovalLinks, ApprovalLinksRequest
from core.runs.approval_links import stand_in_pair
from core.settings import Settings


class ApprovalActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn(name=APPROVAL_LINKS_ACTIVITY)
    async def approval_links(self, request: ApprovalLinksRequest) -> ApprovalLinks:
        deadline = datetime.fromisoformat(request.expires_at) if request.expires_at else None
        approve, reject, until = stand_in_pair(
            self._settings.secret_key, request.execution_id, request.step_id, deadline
        )
        return ApprovalLinks(approve, reject, until.isoformat())

    def activities(self) -> list[Any]:
        return [self.approval_links]
