"""Workflows as code: a workspace's workflows as YAML files in a folder (`baton workflows pull|diff|push`).

One file per workflow, `<key>.yaml`, in DEFINITION.md's shape with the workflow's own fields around it.
The key is the workflow's `key` (unique in its workspace), so the same files update the same workflows in
any workspace: pull from staging, push to production. Connections are named, not numbered
(`connectionId: {name: Slack (Acme)}`), and found by name in the workspace pushed to; a subworkflow step
names its workflow by key (`workflowId: {key: send-invoice}`).

A push is planned first (`plan`): what to create, update, publish, (de)activate or, with prune, delete;
`diff` shows the plan, `push` applies it. Applying a plan twice changes nothing the second time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from api.schemas.connections import ConnectionOut
from api.schemas.workflows import WorkflowOut
from baton.client import Client, InvalidInput
from baton.client.definition import checked

HEADER = "# A Baton workflow. Edit it, then `baton workflows diff DIR` and `baton workflows push DIR`.\n"
FIELDS = ("key", "name", "description", "active", "tags", "folder", "connectionId", "triggerType")
# Flow control, written only when set (files of workflows without it stay as they were).
OPTIONAL = ("concurrency", "priority")
DEFINITION = ("triggerType", "triggerConfig", "steps")
KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


class FileError(Exception):
    """A file that cannot be pushed: its name, and the JSON path at fault when there is one."""

    def __init__(self, file: str, message: str, path: str | None = None) -> None:
        self.file, self.path = file, path
        super().__init__(f"{file}: {path + ': ' if path else ''}{message}")


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (text or "workflow")[:90]


def _walk_connections(value: Any, swap: Any) -> Any:
    """`value` with every `connectionId` replaced by `swap(current value)`."""
    if isinstance(value, dict):
        return {k: (swap(v) if k == "connectionId" else _walk_connections(v, swap)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_connections(item, swap) for item in value]
    return value


def _walk_subworkflows(value: Any, swap: Any) -> Any:
    """`value` with the `workflowId` of every subworkflow step replaced by `swap(current value)`."""
    if isinstance(value, dict):
        is_call = value.get("type") == "subworkflow" and "workflowId" in value
        return {
            k: (swap(v) if is_call and k == "workflowId" else _walk_subworkflows(v, swap))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk_subworkflows(item, swap) for item in value]
    return value


def called_keys(document: dict[str, Any]) -> set[str]:
    """The keys of the workflows a document's subworkflow steps call."""
    found: set[str] = set()

    def note(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"key"}:
            found.add(str(value["key"]))
        return value

    _walk_subworkflows(document.get("steps"), note)
    return found


def document_of(
    workflow: WorkflowOut, key: str, connections: dict[str, str], keys: dict[str, str]
) -> dict[str, Any]:
    """The file's content for `workflow`: connection ids as names (`connections`: id -> name), called
    workflows' ids as keys (`keys`: id -> key)."""

    def named(connection_id: Any) -> Any:
        if isinstance(connection_id, str) and connection_id in connections:
            return {"name": connections[connection_id]}
        return connection_id

    def keyed(workflow_id: Any) -> Any:
        return (
            {"key": keys[workflow_id]}
            if isinstance(workflow_id, str) and workflow_id in keys
            else workflow_id
        )

    return {
        "key": key,
        "name": workflow.name,
        "description": workflow.description,
        "active": workflow.is_active,
        "tags": list(workflow.tags),
        "folder": workflow.folder,
        "connectionId": named(workflow.connection_id),
        "triggerType": str(workflow.trigger_type),
        **({"priority": workflow.priority} if workflow.priority is not None else {}),
        **(
            {"concurrency": workflow.concurrency.model_dump(by_alias=True, exclude_none=True)}
            if workflow.concurrency is not None
            else {}
        ),
        "triggerConfig": _walk_connections(workflow.trigger_config, named),
        "steps": _walk_subworkflows(_walk_connections(workflow.steps, named), keyed),
    }


def dump(document: dict[str, Any]) -> str:
    return HEADER + str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110))


def load(path: Path) -> dict[str, Any]:
    """A file's document, checked: YAML, the fields, the key matching the file name."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        raise FileError(path.name, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(document, dict):
        raise FileError(
            path.name, "must be a mapping of the workflow's fields (key, name, triggerType, steps...)"
        )
    unknown = sorted(set(document) - set(FIELDS) - set(OPTIONAL) - set(DEFINITION))
    if unknown:
        known = ", ".join(FIELDS + OPTIONAL + DEFINITION[1:])
        raise FileError(path.name, f"unknown field (known: {known})", unknown[0])
    for required in ("key", "name", "triggerType"):
        if not document.get(required):
            raise FileError(path.name, "is required", required)
    if not KEY.match(str(document["key"])):
        raise FileError(path.name, "lowercase letters, digits, '.', '_' and '-' (at most 100)", "key")
    if document["key"] != path.stem:
        raise FileError(path.name, f"is {document['key']!r} but the file is {path.name}: rename one", "key")
    document.setdefault("triggerConfig", {})
    document.setdefault("steps", [])
    document.setdefault("active", True)
    document.setdefault("tags", [])
    return document


def load_folder(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    return [load(path) for path in files]


def resolve_connections(document: dict[str, Any], by_name: dict[str, str]) -> dict[str, Any]:
    """The document with connection names as this workspace's ids (FileError naming a missing one)."""
    file = f"{document['key']}.yaml"

    def to_id(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"name"}:
            if value["name"] not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                message = f"no connection named {value['name']!r} in the workspace (it has: {known})"
                raise FileError(file, message, "connectionId")
            return by_name[value["name"]]
        return value

    resolved: dict[str, Any] = _walk_connections(document, to_id)
    return resolved


def resolve_calls(document: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The document with called workflows' keys as ids (`ids`: key -> id; FileError naming a missing one)."""

    def to_id(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"key"}:
            if value["key"] not in ids:
                raise FileError(
                    f"{document['key']}.yaml",
                    f"calls the workflow {value['key']!r}, which neither the workspace nor the folder has",
                    "steps",
                )
            return ids[value["key"]]
        return value

    resolved: dict[str, Any] = _walk_subworkflows(document, to_id)
    return resolved


@dataclass
class Change:
    """What a push does to one workflow."""

    key: str
    action: str  # create, update, publish, activate, deactivate, delete, same
    fields: list[str] = field(default_factory=list)
    before: str = ""
    after: str = ""
    workflow_id: str | None = None
    document: dict[str, Any] | None = None

    def line(self) -> str:
        marks = {"create": "+", "delete": "-", "same": " "}
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{marks.get(self.action, '~')} {self.action:<10} {self.key}{detail}"

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"workspace/{self.key}",
            f"files/{self.key}.yaml",
        )
        return "".join(lines)


class Workspace:
    """A workspace's workflows and connections, read once through the client."""

    def __init__(self, client: Client, workspace_id: str) -> None:
        self.client, self.id = client, workspace_id
        self.workflows: list[WorkflowOut] = list(client.workflows.iterate(workspace_id, page_size=200))
        self.connections: list[ConnectionOut] = list(client.connections.iterate(workspace_id))
        self.names = {c.id: c.name for c in self.connections}
        self.ids = {c.name: c.id for c in self.connections}
        self.pairs = self._keyed()
        self.key_of = {workflow.id: key for key, workflow in self.pairs}

    def _keyed(self) -> list[tuple[str, WorkflowOut]]:
        """Every workflow with its key: its own, or one made from its name (unique in the workspace)."""
        taken = {w.key for w in self.workflows if w.key}
        out = []
        for workflow in self.workflows:
            key = workflow.key
            if key is None:
                base = key = slug(workflow.name)
                n = 2
                while key in taken:
                    key, n = f"{base}-{n}", n + 1
                taken.add(key)
            out.append((key, workflow))
        return out

    def document(self, key: str, workflow: WorkflowOut) -> dict[str, Any]:
        return document_of(workflow, key, self.names, self.key_of)


def pull(client: Client, workspace_id: str, folder: Path) -> list[tuple[str, bool]]:
    """Writes every workflow of the workspace to `folder`; gives a key to those without one (so the next
    push finds them). Returns (file name, whether the workflow got its key now)."""
    workspace = Workspace(client, workspace_id)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, workflow in workspace.pairs:
        keyed_now = workflow.key is None
        if keyed_now:
            client.workflows.update(workspace_id, workflow.id, key=key)
        (folder / f"{key}.yaml").write_text(dump(workspace.document(key, workflow)))
        written.append((f"{key}.yaml", keyed_now))
    return written


def plan(
    client: Client, workspace_id: str, documents: Iterable[dict[str, Any]], *, prune: bool
) -> list[Change]:
    """What a push of `documents` would do to the workspace, every file checked first (FileError)."""
    workspace = Workspace(client, workspace_id)
    by_key = {w.key: w for w in workspace.workflows if w.key}
    by_name: dict[str, list[WorkflowOut]] = {}
    for workflow in workspace.workflows:
        if workflow.key is None:
            by_name.setdefault(workflow.name, []).append(workflow)
    documents = list(documents)
    # for the checks only: a workflow created by this push has no id yet
    known = {key: workflow.id for key, workflow in workspace.pairs} | {
        d["key"]: "00000000-0000-4000-8000-000000000000" for d in documents if d["key"] not in by_key
    }
    changes, matched = [], set()
    for document in _callees_first(documents):
        resolved = resolve_connections(document, workspace.ids)
        _check(resolve_calls(resolved, known))
        key = document["key"]
        remote = by_key.get(key)
        if remote is None and len(by_name.get(document["name"], [])) == 1:
            remote = by_name[document["name"]][0]  # made before it had a key: adopt it
        after = dump(document)
        if remote is None:
            changes.append(Change(key, "create", [], "", after, None, resolved))
            continue
        matched.add(remote.id)
        current = workspace.document(key, remote)
        before = dump(current)
        differing = [
            name for name in (*FIELDS, *OPTIONAL, *DEFINITION[1:]) if current.get(name) != document.get(name)
        ]
        if remote.key is None:
            differing.append("key")
        edits = [name for name in differing if name != "active"]
        if edits:
            action = "update"
        elif remote.is_draft:
            action = "publish"  # its draft holds changes not published yet
        elif "active" in differing:
            action = "activate" if document["active"] else "deactivate"
        else:
            action = "same"
        changes.append(Change(key, action, sorted(set(differing)), before, after, remote.id, resolved))
    if prune:
        for key, workflow in workspace.pairs:
            if workflow.id not in matched and key not in {c.key for c in changes}:
                before = dump(workspace.document(key, workflow))
                changes.append(Change(key, "delete", [], before, "", workflow.id))
    return changes


def _callees_first(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents ordered so that a workflow comes after those it calls (cycles are the server's to
    refuse: they keep the file order)."""
    by_key = {d["key"]: d for d in documents}
    ordered: list[dict[str, Any]] = []
    visiting: set[str] = set()

    def visit(document: dict[str, Any]) -> None:
        key = document["key"]
        if key in visiting or any(d is document for d in ordered):
            return
        visiting.add(key)
        for called in sorted(called_keys(document)):
            if called in by_key:
                visit(by_key[called])
        visiting.discard(key)
        ordered.append(document)

    for document in documents:
        visit(document)
    return ordered


def _check(document: dict[str, Any]) -> None:
    """The definition checked as the server checks it, before anything is sent."""
    try:
        checked(document["triggerType"], document.get("triggerConfig") or {}, document.get("steps") or [])
    except InvalidInput as exc:
        raise FileError(f"{document['key']}.yaml", exc.detail.split(": ", 1)[-1], exc.path) from None


def apply(client: Client, workspace_id: str, changes: list[Change], message: str) -> None:
    """Applies a plan: creates and updates drafts, publishes them with `message`, (de)activates, deletes."""
    ids = {change.key: change.workflow_id for change in changes if change.workflow_id}
    ids |= {key: workflow.id for key, workflow in Workspace(client, workspace_id).pairs}
    for change in changes:
        document = resolve_calls(change.document, ids) if change.document else {}
        if change.action == "delete" and change.workflow_id:
            client.workflows.delete(workspace_id, change.workflow_id)
            continue
        if change.action == "same":
            continue
        workflow_id = change.workflow_id
        definition_fields: dict[str, Any] = {
            "name": document.get("name"),
            "description": document.get("description"),
            "trigger_type": document.get("triggerType"),
            "trigger_config": document.get("triggerConfig") or {},
            "steps": document.get("steps") or [],
            "tags": document.get("tags") or [],
            "folder": document.get("folder"),
            "connection_id": document.get("connectionId"),
            "key": document.get("key"),
            "concurrency": document.get("concurrency"),
            "priority": document.get("priority"),
        }
        if change.action == "create":
            created = client.workflows.create(workspace_id, **definition_fields)
            workflow_id = ids[change.key] = created.id
        elif change.action == "update" and workflow_id is not None:
            client.workflows.update(workspace_id, workflow_id, **definition_fields)
        assert workflow_id is not None
        if change.action in ("create", "update", "publish"):
            client.workflows.publish(workspace_id, workflow_id, message)
        if document.get("active", True) is False:
            client.workflows.deactivate(workspace_id, workflow_id)
        elif change.action == "activate":
            client.workflows.activate(workspace_id, workflow_id)
