"""The console in a real browser (Debian's Chromium over the DevTools protocol) against the real stack:
sign in through the page, see the runs of real workflows, open one and read its steps, decide an approval
from the inbox and see its run finish. axe-core checks each page (no serious or critical violation) and
no Content-Security-Policy violation happens. With BATON_CONSOLE_SCREENSHOTS=1 it also writes the docs'
screenshots (docs/images/console-*.png)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api, sign_up
from tests.browser import Page, chromium_path, headless_page
from tests.http_server import Reply, ScriptedServer

AXE = Path(__file__).parent / "fixtures" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "images"
EMAIL = "ada@example.com"
# Collects CSP violations from the first script of every document (DevTools' scripts bypass the CSP).
WATCH_CSP = (
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push("
    "e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture
def browser_available() -> None:
    if chromium_path() is None:
        print("SKIPPED: Chromium is not installed (apt install chromium; .ci/run installs it)")  # noqa: T201
        pytest.skip("Chromium is not installed (apt install chromium; .ci/run installs it)")


async def eventually(check: Any, timeout: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


async def _workspace_with_runs(
    api: httpx.AsyncClient, http_server: ScriptedServer
) -> tuple[str, dict[str, str], str, str, str, str]:
    """A workspace with a finished run of "Greeter", a run of "Ship orders" waiting on its approval and a
    failed run of "Check stock" (out of stock), and one of "Save order" whose service answered 500."""
    headers = await sign_up(api, EMAIL)
    workspace = (await api.post("/api/v1/workspaces", headers=headers, json={"name": "Acme"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}"

    async def published_run(name: str, steps: list[dict[str, Any]], payload: dict[str, Any]) -> str:
        body = {"name": name, "triggerType": "MANUAL", "triggerConfig": {}, "steps": steps}
        made = await api.post(f"{base}/workflows", headers=headers, json=body)
        assert made.status_code == 201, made.text
        await api.post(f"{base}/workflows/{made.json()['id']}/publish", headers=headers, json={})
        run = await api.post(
            f"{base}/workflows/{made.json()['id']}/run", headers=headers, json={"payload": payload}
        )
        assert run.status_code in (200, 202), run.text  # 200: it ended before the answer
        return str(run.json()["id"])

    greeted = await published_run(
        "Greeter",
        [{"id": "greet", "type": "set", "values": {"hello": "{{ trigger.name }}"}}],
        {"name": "Ada"},
    )
    waiting = await published_run(
        "Ship orders",
        [
            {"id": "prepare", "type": "set", "values": {"order": "{{ trigger.order }}"}},
            {"id": "review", "type": "approval", "message": "Ship order 42?", "timeoutSeconds": 600},
            {
                "id": "route",
                "type": "condition",
                "if": "{{ steps.review.output.approved }}",
                "then": [{"id": "ship", "type": "set", "values": {"shipped": True}}],
                "else": [{"id": "hold", "type": "set", "values": {"shipped": False}}],
            },
        ],
        {"order": 42},
    )

    failed = await published_run(
        "Check stock",
        [
            {
                "id": "check",
                "type": "condition",
                "if": "{{ trigger.qty > 0 }}",
                "then": [{"id": "reserve", "type": "set", "values": {"reserved": "{{ trigger.qty }}"}}],
                "else": [{"id": "empty", "type": "stop", "status": "FAILED", "message": "out of stock"}],
            }
        ],
        {"qty": 0},
    )

    crm = http_server.script("/orders", Reply(500, {"error": "pool exhausted"}, {"X-Request-Id": "req-42"}))
    refused = await published_run(
        "Save order",
        [
            {
                "id": "save",
                "type": "action",
                "action": "http.request",
                "input": {"method": "POST", "url": crm, "json": {"n": 1}},
                "retry": {"maxAttempts": 1},
            }
        ],
        {},
    )

    async def status(execution_id: str) -> str:
        return str((await api.get(f"{base}/executions/{execution_id}", headers=headers)).json()["status"])

    assert await eventually(lambda: _is(status(greeted), "SUCCESS"))
    assert await eventually(lambda: _is(status(failed), "FAILED"))
    assert await eventually(lambda: _is(status(refused), "FAILED"))
    pending = await eventually(
        lambda: _has_items(api.get(f"{base}/approvals", headers=headers)),
    )
    assert pending, "the approval never became pending"
    return workspace["id"], headers, greeted, waiting, failed, refused


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


async def _has_items(answer: Any) -> bool:
    return bool((await answer).json()["items"])


async def _type(page: Page, selector: str, text: str) -> None:
    """Types into a React-controlled input (the value setter React watches, then an input event)."""
    await page.evaluate(
        f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
        "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, "
        f"{json.dumps(text)}); el.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
    )


async def _choose(page: Page, selector: str, value: str) -> None:
    """Sets a React-controlled <select> or <textarea> (its prototype's value setter, then the event React
    listens to)."""
    await page.evaluate(
        f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
        "Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set.call(el, "
        f"{json.dumps(value)}); el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', "
        "{bubbles: true})); })()"
    )


async def _click(page: Page, tag: str, text: str) -> None:
    found = await page.evaluate(
        f"(() => {{ const el = [...document.querySelectorAll({json.dumps(tag)})]"
        f".find(e => e.textContent.trim() === {json.dumps(text)}); if (el) el.click(); return !!el; }})()"
    )
    assert found, f"no <{tag}> reads {text!r}"


async def _text_shows(page: Page, text: str) -> None:
    await page.wait_for(f"document.body.innerText.includes({json.dumps(text)})")


async def _accessible(page: Page, name: str) -> None:
    """axe-core's serious and critical violations on the page (none allowed)."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    await page.call("Runtime.evaluate", expression="axe.run().then(r => window.__axe = r)", awaitPromise=True)
    found = await page.evaluate(
        "window.__axe.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert found == [], f"{name}: {found}"


async def _screenshot(page: Page, name: str) -> None:
    if os.environ.get("BATON_CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"console-{name}.png").write_bytes(await page.screenshot())


@pytest.mark.usefixtures("browser_available", "engine_worker")
async def test_sign_in_read_runs_and_their_steps_and_decide_an_approval_in_the_browser(
    settings: Settings, task_queue: str, http_server: ScriptedServer
) -> None:
    wired = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with served_api(wired) as api, headless_page(offline=True) as page:
        workspace_id, headers, greeted, waiting, failed, refused = await _workspace_with_runs(
            api, http_server
        )
        origin = str(api.base_url).rstrip("/")
        await page.call("Page.enable")
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)

        await page.open(f"{origin}/w/{workspace_id}/runs")  # not signed in: sent to the sign-in page
        await page.wait_for("location.pathname === '/sign-in' && !!document.querySelector('form')")
        await _accessible(page, "sign-in")
        await _screenshot(page, "sign-in")
        await _type(page, "input[type=email]", EMAIL)
        await _type(page, "input[type=password]", PASSWORD)
        await _click(page, "button", "Sign in")
        await _text_shows(page, "Acme")  # the workspace picker
        assert await page.evaluate("document.cookie.includes('baton_csrf=')")
        assert not await page.evaluate("document.cookie.includes('baton_session')")  # HttpOnly

        await _click(page, ".cards a strong", "Acme")
        await page.wait_for("document.querySelectorAll('[role=row] a').length === 4")
        rows = await page.evaluate(
            "[...document.querySelectorAll('[role=rowgroup] [role=row]')].map(r => r.innerText)"
        )
        assert any("Greeter" in row and "success" in row and "manual" in row for row in rows), rows
        assert any("Ship orders" in row and "running" in row for row in rows), rows
        await _accessible(page, "runs")
        await _screenshot(page, "runs")
        # live: a new run shows up by the workspace's event stream (the list polls only every 10 s)
        base = f"/api/v1/workspaces/{workspace_id}"
        greeter = (await api.get(f"{base}/workflows", headers=headers)).json()["items"]
        greeter_id = next(w["id"] for w in greeter if w["name"] == "Greeter")
        await api.post(
            f"{base}/workflows/{greeter_id}/run", headers=headers, json={"payload": {"name": "Bo"}}
        )
        await page.wait_for("document.querySelectorAll('[role=row] a').length === 5", timeout=5)

        await page.evaluate(f"document.querySelector('a[href$=\"{greeted}\"]').click()")
        await page.wait_for(f"location.pathname.endsWith({json.dumps(greeted)})")
        await _text_shows(page, "greet")
        await _click(page, "summary *", "greet")  # opens the step
        await _text_shows(page, '"hello": "Ada"')
        assert await page.evaluate("!!document.querySelector('a[href*=\"/namespaces/\"]')")  # the Temporal UI
        await _accessible(page, "run")
        await _screenshot(page, "run")

        await _click(page, "a", "Approvals")
        await _text_shows(page, "Ship order 42?")
        await _accessible(page, "approvals")
        await _screenshot(page, "approvals")
        await _type(page, "input[id^=comment-]", "looks right")
        await _click(page, "button", "Approve")
        await _text_shows(page, "Nothing waits on you.")

        async def finished() -> dict[str, Any] | None:
            run = (await api.get(f"{base}/executions/{waiting}", headers=headers)).json()
            return run if run["status"] == "SUCCESS" else None

        run = await eventually(finished)
        assert run, "the approved run did not finish"
        review = next(step for step in run["stepExecutions"] if step["stepId"] == "review")
        assert review["output"]["approved"] is True
        assert review["output"]["comment"] == "looks right"

        await page.open(f"{origin}/w/{workspace_id}/runs/{waiting}")  # a reload on a client-side route
        await _text_shows(page, "review")
        await _text_shows(page, "→ then")  # the branch the condition took
        assert "hold" not in await page.evaluate("document.querySelector('.steps').innerText")

        await _click(page, "a", "Workflows")  # the definition on its canvas (loaded on demand)
        await _text_shows(page, "Greeter")
        await _accessible(page, "workflows")
        await _click(page, "a", "Ship orders")
        await page.wait_for("document.querySelectorAll('.react-flow__node').length === 6")
        labels = await page.evaluate(
            "[...document.querySelectorAll('.react-flow__edge-text')].map(e => e.textContent)"
        )
        assert sorted(labels) == ["else", "then"]
        await _accessible(page, "canvas")
        await _screenshot(page, "canvas")

        # a service's error answer, kept on the failed step: its status, headers and body
        await page.open(f"{origin}/w/{workspace_id}/runs/{refused}")
        await _text_shows(page, "The service answered 500")
        await _text_shows(page, '"error": "pool exhausted"')
        await _text_shows(page, "req-42")
        await _accessible(page, "service answer")
        await _screenshot(page, "service-answer")

        # a failed run: its error, then resumed from the condition with the trigger data fixed
        await page.open(f"{origin}/w/{workspace_id}/runs/{failed}")
        await _text_shows(page, "out of stock")
        await _click(page, "summary", "Resume from a step…")
        await _choose(page, ".resume select", "check")
        await _choose(page, ".resume textarea", '{"qty": 3}')
        await _accessible(page, "failed run")
        await _screenshot(page, "failed-run")
        await _click(page, "button", "Resume")
        await _text_shows(page, "Resumed as")
        await _click(page, "a", "a new run")
        await page.wait_for("document.querySelector('h1 .status')?.textContent === 'success'")
        await _text_shows(page, "reserve")
        assert await page.evaluate("window.__cspViolations") == []
