"""The approval links activity: seals the pair of stand-ins an approval step hands its notify steps (sealing
needs SECRET_KEY, which workflow code never holds). An action turns them into the signed one-click links
in what it sends, and only there (core.runs.approval_links.RunLinks). The resume URL activity seals the
stand-in of a run's `{{ execution.resumeUrl }}` the same way (core.runs.resume_links)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from core.contract import APPROVAL_LINKS_ACTIVITY, ApprovalLinks, ApprovalLinksRequest
from core.runs.approval_links import stand_in_pair
from core.runs.resume_links import ResumeUrlRequest, resume_stand_in
from core.settings import Settings


class ApprovalActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn(name=APPROVAL_LINKS_ACTIVITY)
    async def approval_links(self, request: ApprovalLinksRequest) -> ApprovalLinks:
        deadline = datetime.fromisoformat(request.expires_at) if request.expires_at else None
        approve, reject, until = stand_in_pair(
            self._settings.secret_key, request.execution_id, request.step_id, deadline, request.call
        )
        return ApprovalLinks(approve, reject, until.isoformat())

    @activity.defn(name="resume_url")
    async def resume_url(self, request: ResumeUrlRequest) -> str:
        return resume_stand_in(self._settings.secret_key, request.execution_id)

    def activities(self) -> list[Any]:
        return [self.approval_links, self.resume_url]
