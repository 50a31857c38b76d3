"""Hosted forms: a webhook trigger's `form` is a page at /forms/{token}; what a person sends is checked field
by field (a 422 page with each mistake beside its field, the answers kept) and starts a run through the
webhook's ingress with typed values as `trigger.body`; the page is plain HTML with labels tied to their
fields and nothing that runs."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from core.forms import Form
from tests.api.test_webhooks import finished, webhook_workflow
from tests.engine import output

FORM: dict[str, Any] = {
    "title": "Book a demo",
    "description": "We answer within a day.",
    "fields": [
        {"name": "name", "label": "Your name", "required": True},
        {"name": "email", "type": "email", "required": True, "help": "Where we answer"},
        {"name": "seats", "type": "number", "min": 1, "max": 500},
        {"name": "plan", "type": "select", "options": ["starter", "team"], "required": True},
        {"name": "when", "type": "date"},
        {"name": "notes", "type": "textarea", "maxLength": 200},
        {"name": "terms", "type": "checkbox", "label": "I accept the terms", "required": True},
    ],
    "doneMessage": "Thanks! We will write to you.",
}
STEPS = [{"id": "keep", "type": "set", "values": {"got": "{{ trigger.body }}", "form": "{{ trigger.form }}"}}]


async def published_form(
    client: httpx.AsyncClient, form: dict[str, Any] = FORM
) -> tuple[str, str, dict[str, str]]:
    config = {"methods": ["POST"], "form": form}
    base, headers, _, hook = await webhook_workflow(client, STEPS, config, "forms@example.com")
    return f"/forms/{hook['token']}", base, headers


GOOD = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "seats": "12",
    "plan": "team",
    "when": "2026-12-24",
    "notes": "",
    "terms": "on",
    "extra": "not asked for",
}


async def test_a_sent_form_starts_a_run_with_typed_values(
    api_with_worker: httpx.AsyncClient, db: Any
) -> None:
    client = api_with_worker
    address, base, headers = await published_form(client)
    shown = await client.get(address)
    assert shown.status_code == 200
    assert "script" not in shown.text.lower()
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    for field in FORM["fields"]:
        assert f"<label for=f-{field['name']}>" in shown.text or f"id=f-{field['name']}" in shown.text
    sent = await client.post(address, data=GOOD)
    assert sent.status_code == 200, sent.text
    assert "Thanks! We will write to you." in sent.text
    execution_id = sent.headers["x-baton-execution-id"]
    assert (await finished(db, execution_id))["status"] == "SUCCESS"
    row = await db.fetchrow("SELECT output FROM step_executions WHERE execution_id = $1", execution_id)
    kept = output(row)
    assert kept["got"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "seats": 12,
        "plan": "team",
        "when": "2026-12-24",
        "notes": None,
        "terms": True,
    }
    assert kept["form"] is True


async def test_mistakes_come_back_beside_their_fields_and_start_nothing(
    api_with_worker: httpx.AsyncClient, db: Any
) -> None:
    client = api_with_worker
    address, _, _ = await published_form(client)
    wrong = {**GOOD, "email": "not an address", "seats": "0", "plan": "gold", "when": "24/12/2026"}
    del wrong["terms"]
    answered = await client.post(address, data=wrong)
    assert answered.status_code == 422
    page = answered.text
    assert "role=alert" in page
    for name in ("email", "seats", "plan", "when", "terms"):
        assert f"id=f-{name}-error" in page, name
        assert re.search(rf"id=f-{name} name={name}[^>]*aria-invalid=true", page), name
    assert "value='Ada Lovelace'" in page  # what was right is kept
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 0


async def test_a_workflow_without_a_form_has_no_page(api_with_worker: httpx.AsyncClient) -> None:
    assert (await api_with_worker.get("/forms/no-such-token")).status_code == 404


def test_a_form_is_checked_when_the_workflow_is_saved() -> None:
    with pytest.raises(ValueError, match="select needs `options`"):
        Form.model_validate({"fields": [{"name": "plan", "type": "select"}]})
    with pytest.raises(ValueError, match="two fields are named 'a'"):
        Form.model_validate({"fields": [{"name": "a"}, {"name": "a"}]})
