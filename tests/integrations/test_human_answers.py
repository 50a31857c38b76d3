"""A human step that asks for more than yes or no: one of several `choices`, or values for `fields` (the
fields of a hosted form). The inbox shows what is asked, the API refuses an answer the step did not ask
for naming the field (`choice`, `values.amount`), the signed approve link's page is the form (mistakes
shown beside their fields, 422), and the run's output has the choice and the typed values."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, eventually, live_is

FIELDS = [
    {"name": "amount", "type": "number", "required": True, "min": 1, "max": 500},
    {"name": "reason", "label": "Why", "type": "textarea"},
    {"name": "by", "type": "date"},
]


def human(notify: list[dict[str, Any]] | None = None, **asks: Any) -> list[dict[str, Any]]:
    step = {"id": "ask", "type": "approval", "message": "Refund this order?", **asks}
    if notify:
        step["notify"] = notify
    return [step, {"id": "after", "type": "set", "values": {"got": "{{ steps.ask.output }}"}}]


async def test_the_inbox_and_the_api_take_a_choice_and_values_the_step_asked_for(studio: Studio) -> None:
    workflow = await studio.publish(human(choices=["refund", "replace", "decline"], fields=FIELDS))
    execution_id = await studio.start(workflow)
    assert await studio.until(execution_id, live_is("waiting")), "the run never waited"
    (approval,) = (await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)).json()[
        "items"
    ]
    assert approval["choices"] == ["refund", "replace", "decline"]
    assert [f["name"] for f in approval["fields"]] == ["amount", "reason", "by"]

    def decide(body: dict[str, Any]) -> Any:
        return studio.client.post(approval["decideUrl"], headers=studio.headers, json=body)

    wrong_choice = await decide({"choice": "cash", "values": {"amount": 20}})
    assert (wrong_choice.status_code, wrong_choice.json()["path"]) == (422, "choice"), wrong_choice.text
    too_much = await decide({"choice": "refund", "values": {"amount": 900}})
    assert (too_much.status_code, too_much.json()["path"]) == (422, "values.amount"), too_much.text
    missing = await decide({"choice": "refund", "values": {"reason": "late"}})
    assert (missing.status_code, missing.json()["path"]) == (422, "values.amount")
    nothing = await decide({})
    assert (nothing.status_code, nothing.json()["path"]) == (422, "approved")

    answered = await decide(
        {"choice": "refund", "values": {"amount": "40", "reason": "Damaged", "by": "2026-12-24"}}
    )
    assert answered.status_code == 200, answered.text
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    got = done["steps"]["after"]["output"]["got"]
    assert got["approved"] is True
    assert got["choice"] == "refund"
    assert got["values"] == {"amount": 40, "reason": "Damaged", "by": "2026-12-24"}


async def test_a_rejection_needs_no_choice_and_gives_none(studio: Studio) -> None:
    workflow = await studio.publish(human(choices=["refund", "replace"]))
    execution_id = await studio.start(workflow)
    assert await studio.until(execution_id, live_is("waiting")), "the run never waited"
    (approval,) = (await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)).json()[
        "items"
    ]
    rejected = await studio.client.post(
        approval["decideUrl"], headers=studio.headers, json={"approved": False}
    )
    assert rejected.status_code == 200, rejected.text
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    got = done["steps"]["after"]["output"]["got"]
    assert (got["approved"], got["choice"]) == (False, None)


async def test_the_approve_link_is_a_form_that_shows_mistakes_beside_their_fields(
    studio: Studio, http_server: ScriptedServer
) -> None:
    chat = http_server.script("/chat", Reply(200, {"ok": True}))
    notify = {
        "id": "tell",
        "type": "action",
        "action": "http.request",
        "input": {"url": chat, "method": "POST", "json": {"yes": "{{ steps.ask.output.approveUrl }}"}},
    }
    workflow = await studio.publish(human([notify], choices=["refund", "replace"], fields=FIELDS))
    execution_id = await studio.start(workflow)

    async def asked() -> list[Any]:
        return http_server.hits("/chat")

    (hit,) = await eventually(asked, timeout=20)
    path = urlsplit(json.loads(hit.body)["yes"]).path
    browser = {"Accept": "text/html"}
    shown = await studio.client.get(path, headers=browser)
    assert shown.status_code == 200, shown.text
    page = shown.text
    assert "<label for=f-amount>" in page
    assert "name=choice value='refund'" in page
    assert "script" not in page.lower()

    wrong = await studio.client.post(path, data={"choice": "refund", "amount": "abc"}, headers=browser)
    assert wrong.status_code == 422
    assert "id=f-amount-error" in wrong.text
    assert "Enter a number." in wrong.text
    no_choice = await studio.client.post(path, data={"amount": "12"}, headers=browser)
    assert no_choice.status_code == 422
    assert "Choose one of the buttons." in no_choice.text

    sent = await studio.client.post(path, data={"choice": "replace", "amount": "12"}, headers=browser)
    assert sent.status_code == 200, sent.text
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    got = done["steps"]["after"]["output"]["got"]
    assert (got["choice"], got["values"]) == ("replace", {"amount": 12, "reason": None, "by": None})
    assert got["by"] == "approval-link"
