"""Workflows: CRUD with validated definitions, publish and versions, activation, manual runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from api.audit import AuditorDep, create_audited
from api.deps import (
    MAX_WAIT_SECONDS,
    ResourcesDep,
    SessionDep,
    WorkspaceAccess,
    after_commit,
    started_run_out,
    workspace_access,
)
from api.errors import error_responses
from api.pagination import Cursor, Limit, decode_cursor, page
from api.resources import Resources
from api.schemas.base import Page
from api.schemas.executions import ExecutionDetail, ExecutionOut
from api.schemas.workflows import (
    BackfillAccepted,
    BackfillBody,
    PublishBody,
    RunBody,
    ScheduleOut,
    VersionOut,
    WorkflowCreate,
    WorkflowExport,
    WorkflowImport,
    WorkflowOut,
    WorkflowUpdate,
)
from core import workflows as store
from core.errors import InvalidInput
from core.models import Workflow
from core.permissions import Permission
from core.runs import open_execution_ids
from core.runs.drafts import DraftRuns
from core.triggers import schedules
from integrations.catalogue import action_input_schema, polling_config_schema

router = APIRouter(prefix="/workspaces/{workspace_id}/workflows", tags=["workflows"])
ERRORS = error_responses(401, 403, 404, 409, 422)

# workflow_versions.version is an INTEGER: a number past it is refused (422 naming `version`), not a 500
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number (1, 2, ...)")]
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "workflows:read"))]
Editor = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "workflows:write"))]
Runner = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


def forget_after_commit(session: AsyncSession, resources: Resources, workflow_id: str) -> None:
    """Drops the `workflow:{id}` cache entry once this write has committed."""
    after_commit(session, lambda: resources.workflow_cache().forget(workflow_id))


def rearm_after_commit(session: AsyncSession, resources: Resources, workflow_id: str) -> None:
    """For writes that change what runs or whether it is active: once committed, drops the `workflow:{id}`
    cache entry, then arms or disarms the trigger (webhook, schedule, poller) to match."""
    forget_after_commit(session, resources, workflow_id)
    after_commit(session, lambda: resources.arm(workflow_id))


class OnWorkflow:
    """What a route changing one workflow holds: its id, the caller (workflows:write), the request's
    session, the servers and the auditor."""

    def __init__(
        self,
        workflow_id: str,
        access: Editor,
        session: SessionDep,
        auditor: AuditorDep,
        resources: ResourcesDep,
    ) -> None:
        self.id, self.access, self.session = workflow_id, access, session
        self.auditor, self.resources = auditor, resources

    async def rearmed(self) -> Workflow:
        """The workflow, its trigger armed or disarmed to match once this write commits."""
        rearm_after_commit(self.session, self.resources, self.id)
        return await store.get(self.session, self.access.workspace.id, self.id)

    async def audited(self, action: str, **details: Any) -> None:
        await self.auditor.in_workspace(self.access, action, "workflow", self.id, **details)


Changing = Annotated[OnWorkflow, Depends()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkflowOut, responses=ERRORS)
async def create(
    body: WorkflowCreate, access: Editor, session: SessionDep, auditor: AuditorDep
) -> WorkflowOut:
    """Create a draft workflow. The definition is validated; errors name the JSON path (steps[2].input.to)."""
    fields = body.model_dump(by_alias=True, mode="json")
    return await create_audited(session, access, auditor, fields, "workflow.created")


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=WorkflowOut, responses=ERRORS)
async def import_workflow(
    body: WorkflowImport, access: Editor, session: SessionDep, auditor: AuditorDep
) -> WorkflowOut:
    """Create a draft from an exported document, mapping its connection ids onto this workspace's."""
    document = body.workflow
    steps = store.map_connections(document.steps, body.connection_map)
    await store.check_step_connections(session, access.workspace.id, steps)
    fields = {**document.model_dump(by_alias=True, mode="json"), "steps": steps}
    if document.connection_id is not None:
        fields["connectionId"] = body.connection_map.get(document.connection_id, document.connection_id)
    return await create_audited(session, access, auditor, fields, "workflow.imported")


@router.get("", response_model=Page[WorkflowOut], responses=ERRORS)
async def list_workflows(
    access: Reader,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    tag: Annotated[str | None, Query(description="Only workflows with this tag")] = None,
    folder: str | None = None,
    active: bool | None = None,
    key: Annotated[str | None, Query(description="The workflow with this key (see `key`)")] = None,
) -> Page[WorkflowOut]:
    rows = await store.list_page(
        session,
        access.workspace.id,
        limit=limit,
        cursor=decode_cursor(cursor),
        tag=tag,
        folder=folder,
        active=active,
        key=key,
    )
    items, next_cursor = page(rows, limit)
    return Page(items=[WorkflowOut.model_validate(w) for w in items], next_cursor=next_cursor)


@router.get("/{workflow_id}", response_model=WorkflowOut, responses=ERRORS)
async def get(workflow_id: str, access: Reader, session: SessionDep) -> WorkflowOut:
    return WorkflowOut.model_validate(await store.get(session, access.workspace.id, workflow_id))


@router.get("/{workflow_id}/export", response_model=WorkflowExport, responses=ERRORS)
async def export(workflow_id: str, access: Reader, session: SessionDep) -> WorkflowExport:
    """The workflow as a portable JSON document (import it elsewhere with POST .../workflows/import)."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    return WorkflowExport.model_validate(
        {**store.definition_of(workflow), **workflow.model_dump(by_alias=False)}
    )


@router.post(
    "/{workflow_id}/duplicate",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkflowOut,
    responses=ERRORS,
)
async def duplicate(
    workflow_id: str, access: Editor, session: SessionDep, auditor: AuditorDep
) -> WorkflowOut:
    source = await store.get(session, access.workspace.id, workflow_id)
    fields = {
        **store.definition_of(source),
        "name": f"Copy of {source.name}"[:200],
        "description": source.description,
        "tags": source.tags,
        "folder": source.folder,
        "connectionId": source.connection_id,
    }
    return await create_audited(
        session, access, auditor, fields, "workflow.duplicated", metadata={"source": workflow_id}
    )


@router.patch("/{workflow_id}", response_model=WorkflowOut, responses=ERRORS)
async def update(
    workflow_id: str,
    body: WorkflowUpdate,
    access: Editor,
    session: SessionDep,
    auditor: AuditorDep,
    resources: ResourcesDep,
) -> WorkflowOut:
    """Change the draft; runs keep using the published version until you publish again."""
    forget_after_commit(session, resources, workflow_id)
    workflow = await store.get(session, access.workspace.id, workflow_id)
    before = WorkflowOut.model_validate(workflow)
    fields = body.model_dump(by_alias=True, mode="json", exclude_unset=True)
    workflow = await store.update(session, workflow, fields, action_input_schema, polling_config_schema)
    await session.refresh(workflow)
    out = WorkflowOut.model_validate(workflow)
    await auditor.in_workspace(access, "workflow.updated", "workflow", workflow.id, before=before, after=out)
    return out


@router.delete("/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete(
    workflow_id: str, access: Editor, session: SessionDep, auditor: AuditorDep, resources: ResourcesDep
) -> None:
    """Delete the workflow with its versions, runs and webhooks; its runs still in flight are cancelled."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    before = WorkflowOut.model_validate(workflow)
    tokens = await resources.webhooks.tokens_of(await session.connection(), workflow_id)
    after_commit(session, lambda: resources.webhooks.forget(*tokens))
    rearm_after_commit(session, resources, workflow_id)  # deletes its schedule, stops its poller
    in_flight = await open_execution_ids(await session.connection(), [workflow_id])
    after_commit(session, lambda: resources.cancel_runs(*in_flight))
    await store.delete(session, workflow)
    await auditor.in_workspace(access, "workflow.deleted", "workflow", workflow_id, before=before)


@router.post(
    "/{workflow_id}/publish", status_code=status.HTTP_201_CREATED, response_model=VersionOut, responses=ERRORS
)
async def publish(body: PublishBody, workflow: Changing) -> VersionOut:
    """Snapshot the draft as a new version; the workflow becomes active and new runs use this version."""
    session, user = workflow.session, workflow.access.principal.user
    version = await store.publish(session, await workflow.rearmed(), user, body.change_description)
    await session.refresh(version)
    metadata = {"version": version.version, "changeDescription": body.change_description}
    await workflow.audited("workflow.published", metadata=metadata)
    return VersionOut.model_validate(version)


async def _set_active(active: bool, workflow: OnWorkflow) -> WorkflowOut:
    changed = await store.set_active(workflow.session, await workflow.rearmed(), active)
    await workflow.audited("workflow.activated" if active else "workflow.deactivated")
    await workflow.session.flush()
    await workflow.session.refresh(changed)
    return WorkflowOut.model_validate(changed)


@router.post("/{workflow_id}/activate", response_model=WorkflowOut, responses=ERRORS)
async def activate(workflow: Changing) -> WorkflowOut:
    """Arm the trigger of a published workflow."""
    return await _set_active(True, workflow)


@router.post("/{workflow_id}/deactivate", response_model=WorkflowOut, responses=ERRORS)
async def deactivate(workflow: Changing) -> WorkflowOut:
    """Disarm the trigger; runs in flight go on."""
    return await _set_active(False, workflow)


@router.get("/{workflow_id}/versions", response_model=Page[VersionOut], responses=ERRORS)
async def versions(workflow_id: str, access: Reader, session: SessionDep) -> Page[VersionOut]:
    await store.get(session, access.workspace.id, workflow_id)
    return Page(items=[VersionOut.model_validate(v) for v in await store.versions(session, workflow_id)])


@router.get("/{workflow_id}/versions/{version}", response_model=VersionOut, responses=ERRORS)
async def version(
    workflow_id: str, version: VersionNumber, access: Reader, session: SessionDep
) -> VersionOut:
    await store.get(session, access.workspace.id, workflow_id)
    return VersionOut.model_validate(await store.version(session, workflow_id, version))


@router.post(
    "/{workflow_id}/versions/{version}/restore",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=ERRORS,
)
async def restore(version: VersionNumber, workflow: Changing) -> VersionOut:
    """Make an old version current again; it is published as a new version."""
    user = workflow.access.principal.user
    restored = await store.restore(workflow.session, await workflow.rearmed(), version, user)
    await workflow.session.refresh(restored)
    await workflow.audited("workflow.restored", metadata={"restored": version, "version": restored.version})
    return VersionOut.model_validate(restored)


@router.get(
    "/{workflow_id}/schedule", response_model=ScheduleOut, responses=error_responses(401, 403, 404, 409)
)
async def schedule(
    workflow_id: str, access: Reader, session: SessionDep, resources: ResourcesDep
) -> ScheduleOut:
    """A SCHEDULE workflow's Temporal Schedule: its next slots, the runs its latest slots started, what it
    missed or skipped. 409 for a workflow without one (not published, or not a SCHEDULE workflow)."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    await session.commit()  # the answer comes from Temporal: hold no connection meanwhile
    found = await schedules.view(await resources.client(), workflow.id)
    return ScheduleOut.model_validate(found)


@router.post(
    "/{workflow_id}/backfill",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackfillAccepted,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def backfill(
    workflow_id: str,
    body: BackfillBody,
    access: Runner,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> BackfillAccepted:
    """Run the slots the schedule missed between `from` and `to` (a pause, an outage longer than the
    catch-up window): Temporal's schedule backfill, each slot a run with `trigger.scheduledAt` its time,
    under `overlap`. The runs appear in GET .../executions as they start (and in GET .../schedule)."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    since, until = schedules.check_range(body.from_, body.to)
    await auditor.in_workspace(
        access,
        "workflow.backfilled",
        "workflow",
        workflow.id,
        metadata={"from": since.isoformat(), "to": until.isoformat(), "overlap": body.overlap},
    )
    await session.commit()
    await schedules.backfill(await resources.client(), workflow.id, since, until, body.overlap)
    return BackfillAccepted(
        workflow_id=workflow.id, from_=since, to=until, overlap=body.overlap,
        detail="the schedule starts a run for each of its slots in the range",
    )  # fmt: skip


@router.post(
    "/{workflow_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut | ExecutionDetail,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def run(
    workflow_id: str,
    body: RunBody,
    access: Runner,
    session: SessionDep,
    resources: ResourcesDep,
    response: Response,
    auditor: AuditorDep,
    wait: Annotated[bool, Query(description="Answer when the run ends (or the timeout passes)")] = False,
    timeout_seconds: Annotated[float, Query(alias="timeoutSeconds", gt=0, le=MAX_WAIT_SECONDS)] = 30,
    draft: Annotated[bool, Query(description="Run the saved draft instead of the published version")] = False,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="The same key on the same workflow answers the run the first call started and starts "
            "nothing (retry a lost answer safely)",
        ),
    ] = None,
) -> ExecutionOut:
    """Start a run with `payload` as its trigger data: 202 with the execution once it is durably started;
    with `?wait=true`, 200 with the finished execution (or 202 if it is still running at the timeout).
    A draft run answers with its steps, and may pin steps' outputs (`pinnedOutputs`, `pinnedFrom`): those
    steps are not called."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    runs = await resources.run_service()
    pinned = body.pinned_outputs is not None or body.pinned_from is not None
    if pinned and not draft:
        field = "pinnedOutputs" if body.pinned_outputs is not None else "pinnedFrom"
        raise InvalidInput("pinned outputs are for draft runs: add ?draft=true", path=field)
    if pinned:
        started = await DraftRuns(runs.starts).run_pinned(
            workflow.id,
            body.payload if "payload" in body.model_fields_set else None,
            pinned_outputs=body.pinned_outputs,
            pinned_from=body.pinned_from.execution_id if body.pinned_from else None,
            pinned_steps=body.pinned_from.steps if body.pinned_from else None,
        )
    else:
        started = await runs.start_manual(
            workflow.id, body.payload, draft=draft, idempotency_key=idempotency_key
        )
    await auditor.in_workspace(
        access,
        "workflow.executed",
        "execution",
        started.execution_id,
        metadata={"workflowId": workflow.id, "version": started.version, "draft": draft},
    )
    return await started_run_out(
        session,
        resources,
        access.workspace.id,
        started.execution_id,
        response,
        wait=timeout_seconds if wait else None,
        with_steps=draft,
    )
