"""`baton workflows pull|diff|push` against a real API: every template and a workflow of every step type
pulled from a staging workspace, pushed into a fresh production one (connections and called workflows found
by name and key there) and pulled again, identical; a second push changes nothing; an edit is shown by diff
and published by push as one new version; prune deletes; a bad file is refused naming file and JSON path."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.client import AsyncClient
from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api

SCOPES = ["workspaces:admin", "workflows:read", "workflows:write", "connections:read", "connections:write"]
SLACK_TOKEN = {"accessToken": "xoxb-0000-test"}


async def baton(config: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", *args,
        env={**os.environ, "BATON_CLI_CONFIG": str(config)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode()


def every_step_type(slack_id: str, callee_id: str) -> list[dict[str, object]]:
    text = "Approve? {{ steps.approve.output.approveUrl }}"
    notify = {"id": "ask", "type": "action", "action": "slack.send_message", "connectionId": slack_id,
              "input": {"channel": "#ops", "text": text}}  # fmt: skip
    return [
        {"id": "fetch", "type": "action", "action": "http.request", "input": {"url": "https://example.com"},
         "retry": {"maxAttempts": 2}, "onError": "continue"},
        {"id": "check", "type": "condition", "if": "{{ steps.fetch.output.status == 200 }}",
         "then": [{"id": "ok", "type": "set", "values": {"ok": True}}],
         "else": [{"id": "halt", "type": "stop", "status": "FAILED", "message": "down"}]},
        {"id": "route", "type": "switch", "value": "{{ trigger.kind }}",
         "cases": {"a": [{"id": "is_a", "type": "set", "values": {"a": 1}}]},
         "default": [{"id": "other", "type": "set", "values": {"a": 0}}]},
        {"id": "each", "type": "loop", "items": "{{ [1, 2, 3] }}", "concurrency": 2,
         "steps": [{"id": "double", "type": "set", "values": {"n": "{{ item * 2 }}"}}]},
        {"id": "both", "type": "parallel", "branches": [[{"id": "left", "type": "set", "values": {}}],
                                                        [{"id": "right", "type": "set", "values": {}}]]},
        {"id": "pause", "type": "delay", "seconds": 1},
        {"id": "approve", "type": "approval", "message": "Go?", "timeoutSeconds": 3600,
         "defaultDecision": "approve", "notify": [notify]},
        {"id": "child", "type": "subworkflow", "workflowId": callee_id, "input": {"x": 1}},
        {"id": "answer", "type": "respond", "status": 200, "body": {"done": True}},
    ]  # fmt: skip


def files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.glob("*.yaml"))}


async def test_pull_push_pull_round_trips_every_template_and_step_type(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    await seed(engine)  # the catalogue and the templates
    config = tmp_path / "cli.json"
    email = f"code-{uuid.uuid4().hex[:8]}@example.com"
    operator = settings.model_copy(update={"default_plan": "PROFESSIONAL"})  # room for 6 workflows
    async with served_api(operator) as api, AsyncClient(str(api.base_url)) as client:
        await client.auth.register(email, PASSWORD, "Ada", "Lovelace")
        await client.auth.login(email, PASSWORD)
        key = (await client.me.create_api_key("git", SCOPES)).key
        staging = await client.workspaces.create("Staging")
        production = await client.workspaces.create("Production")
        slack = await client.connections.create(staging.id, "slack", "Team Slack", SLACK_TOKEN)
        await client.connections.create(
            production.id, "slack", "Team Slack", SLACK_TOKEN
        )  # another id, the same name
        for template in (await client.catalogue.templates()).items:
            await client.catalogue.use_template(staging.id, template.id)
        callee = await client.workflows.create(
            staging.id,
            "Send invoice",
            "MANUAL",
            [{"id": "s", "type": "set", "values": {}}],
            key="send-invoice",
        )
        everything = await client.workflows.create(
            staging.id, "Every step", "WEBHOOK", every_step_type(slack.id, callee.id),
            trigger_config={"mode": "sync"}, tags=["demo"], folder="examples",
            concurrency={"limit": 2, "key": "{{ trigger.body.customerId }}"}, priority=2,
        )  # fmt: skip
        await client.workflows.publish(staging.id, everything.id)

        code, out = await baton(config, "login", "--url", str(api.base_url), "--token", key,
                                "--workspace", staging.id)  # fmt: skip
        assert code == 0, out
        pulled = tmp_path / "staging"
        code, out = await baton(config, "workflows", "pull", str(pulled), "--workspace", staging.id)
        assert code == 0, out
        first = files(pulled)
        assert len(first) == 6  # 4 templates, the callee and the workflow of every step type
        assert "every-step.yaml" in first
        document = yaml.safe_load(first["every-step.yaml"])
        assert document["steps"][6]["notify"][0]["connectionId"] == {"name": "Team Slack"}
        assert document["steps"][7]["workflowId"] == {"key": "send-invoice"}
        assert slack.id not in first["every-step.yaml"]
        assert (document["priority"], document["concurrency"]) == (
            2,
            {"limit": 2, "key": "{{ trigger.body.customerId }}"},
        )

        code, out = await baton(config, "workflows", "diff", str(pulled), "--workspace", production.id)
        assert code == 0, out
        assert "+ create     every-step" in out
        assert "6 to change" in out
        code, out = await baton(config, "workflows", "push", str(pulled), "--workspace", production.id,
                                "-m", "Promoted from staging")  # fmt: skip
        assert code == 0, out
        code, out = await baton(
            config, "workflows", "pull", str(tmp_path / "production"), "-w", production.id
        )
        assert code == 0, out
        assert files(tmp_path / "production") == first  # the same files from the other workspace

        promoted = {w.key: w for w in (await client.workflows.list(production.id)).items}
        assert set(promoted) == {name.removesuffix(".yaml") for name in first}
        versions = await client.workflows.versions(production.id, promoted["every-step"].id)
        assert [v.change_description for v in versions.items] == ["Promoted from staging"]
        assert promoted["every-step"].is_active
        assert promoted["every-step"].steps[7]["workflowId"] == promoted["send-invoice"].id

        # a second push: nothing to do, no new version
        code, out = await baton(config, "workflows", "push", str(pulled), "-w", production.id)
        assert code == 0, out
        assert "0 changed, 6 unchanged" in out
        assert len((await client.workflows.versions(production.id, promoted["every-step"].id)).items) == 1

        # an edit: diff shows it (and --check fails), push publishes one new version
        edited = pulled / "every-step.yaml"
        edited.write_text(edited.read_text().replace("message: Go?", "message: Ship it?"))
        code, out = await baton(config, "workflows", "diff", str(pulled), "-w", production.id, "--check")
        assert code == 1, out
        assert "~ update     every-step (steps)" in out
        assert "+  message: Ship it?" in out  # the unified diff of the file
        assert "-  message: Go?" in out
        code, out = await baton(config, "workflows", "push", str(pulled), "-w", production.id, "-m", "Reword")
        assert code == 0, out
        versions = await client.workflows.versions(production.id, promoted["every-step"].id)
        assert [v.change_description for v in versions.items][0] == "Reword"
        assert len(versions.items) == 2

        # prune: what the folder no longer has is deleted
        (pulled / "send-invoice.yaml").rename(tmp_path / "kept-aside.yaml")
        (pulled / "every-step.yaml").unlink()
        code, out = await baton(config, "workflows", "push", str(pulled), "-w", production.id, "--prune")
        assert code == 0, out
        assert "- delete     every-step" in out
        remaining = {w.key for w in (await client.workflows.list(production.id)).items}
        assert remaining == {name.removesuffix(".yaml") for name in files(pulled)}

        # a bad file: refused before anything changes, naming the file and the JSON path
        bad = pulled / "broken.yaml"
        bad.write_text(
            "key: broken\nname: Broken\ntriggerType: MANUAL\nsteps:\n"
            "  - {id: call, type: action, action: http.request, input: {method: GET}}\n"
        )
        code, out = await baton(config, "workflows", "push", str(pulled), "-w", production.id)
        assert code == 1, out
        assert "broken.yaml: steps[0].input.url: is required" in out
        bad.write_text("key: broken\nname: [unclosed\n")
        code, out = await baton(config, "workflows", "diff", str(pulled), "-w", production.id)
        assert code == 1, out
        assert "broken.yaml: line 3 column 1: not valid YAML" in out
