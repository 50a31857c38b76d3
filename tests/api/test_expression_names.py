"""Saving a definition whose expression names a test or filter Baton does not have is refused with the
field's path, also when Jinja would only look the name up while a run evaluates it (`select('bigger')`)."""

from __future__ import annotations

import httpx

from tests.api.test_workflows import setup, workflow


async def test_saving_an_unknown_test_is_a_422_naming_the_field(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    steps = [{"id": "pick", "type": "set", "values": {"v": "{{ [1] | select('bigger') | list }}"}}]
    response = await api_client.post(f"{base}/workflows", headers=headers, json=workflow(steps))
    assert response.status_code == 422, response.text
    assert response.json()["path"] == "steps[0].values.v"
    assert "unknown test 'bigger'" in response.text
