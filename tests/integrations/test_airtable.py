"""Airtable end to end against a local server speaking its Web API: a workflow creates records, lists the
open ones by a formula across pages, updates one by id and upserts others matched on a field; a table the
token cannot see and an unknown field fail once with Airtable's words; a 429 without Retry-After waits
Airtable's 30 seconds; ids are checked naming the field; the page's examples are valid steps."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from integrations.airtable import QUIET_AFTER_429, ListRecordsInput, airtable, list_records
from integrations.catalogue import INTEGRATIONS
from integrations.context import ActionError
from tests.factories import action_step
from tests.http_server import serving
from tests.integrations.airtable_api import AirtableAPI
from tests.integrations.conftest import Studio
from tests.integrations.page_examples import example_steps

TOKEN = "patAbCdEf.SECRETsecretSECRET"
BASE = "appABCDEFGHIJKLMN"

airtable_api = serving(lambda: AirtableAPI(TOKEN, BASE, {"My Tasks": {"Name", "Status", "Owner"}}))


async def connect(studio: Studio, api: AirtableAPI) -> str:
    return await studio.connect("airtable", {"accessToken": TOKEN, "baseUrl": f"{api.base_url}/v0"})


async def test_records_are_created_listed_by_formula_across_pages_updated_and_upserted(
    studio: Studio, airtable_api: AirtableAPI
) -> None:
    connection = await connect(studio, airtable_api)
    table = {"base_id": BASE, "table": "My Tasks"}
    new = [
        {"fields": {"Name": f"T{i}", "Status": "Open", "Owner": "ada" if i % 2 else "bob"}} for i in range(7)
    ]
    workflow = await studio.publish(
        [
            action_step("add", "airtable.create_records", {**table, "records": new}, connection),
            action_step(
                "open",
                "airtable.list_records",
                {
                    **table,
                    "filter_by_formula": "AND({Status} = 'Open', {Owner} = '{{ trigger.owner }}')",
                    "sort": [{"field": "Name", "direction": "desc"}],
                    "fields": ["Name"],
                    "page_size": 2,
                    "max_pages": 5,
                },
                connection,
            ),
            action_step(
                "close",
                "airtable.update_records",
                {
                    **table,
                    "records": [
                        {"id": "{{ steps.open.output.records[0].id }}", "fields": {"Status": "Done"}}
                    ],
                },
                connection,
            ),
            action_step(
                "upsert",
                "airtable.update_records",
                {
                    **table,
                    "merge_on": ["Name"],
                    "records": [
                        {"fields": {"Name": "T0", "Status": "Done"}},
                        {"fields": {"Name": "T9", "Status": "Open"}},
                    ],
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"owner": "ada"})
    assert execution["status"] == "SUCCESS", execution["error"]
    steps = execution["steps"]
    assert len(steps["add"]["output"]["records"]) == 7
    listed = steps["open"]["output"]
    assert [r["fields"] for r in listed["records"]] == [{"Name": "T5"}, {"Name": "T3"}, {"Name": "T1"}]
    assert listed["offset"] is None
    pages = airtable_api.hits("/v0/appABCDEFGHIJKLMN/My%20Tasks")
    listings = [p for p in pages if p.method == "GET"]
    assert [p.query.get("offset") for p in listings] == [None, ["itr2"]]
    assert listings[0].query["filterByFormula"] == ["AND({Status} = 'Open', {Owner} = 'ada')"]
    rows = {r["fields"]["Name"]: r["fields"]["Status"] for r in airtable_api.tables["My Tasks"]}
    assert (rows["T5"], rows["T0"], rows["T9"], rows["T3"]) == ("Done", "Done", "Open", "Open")
    upserted = steps["upsert"]["output"]
    assert len(upserted["created"]) == 1
    assert upserted["created"][0] in {r["id"] for r in upserted["records"]}
    assert all(p.headers["Authorization"] == f"Bearer {TOKEN}" for p in pages)
    assert TOKEN not in json.dumps(execution)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"table": "Secret Table", "records": [{"fields": {"Name": "x"}}]}, "requested model was not found"),
        ({"table": "My Tasks", "records": [{"fields": {"Nmae": "x"}}]}, 'Unknown field name: "Nmae"'),
    ],
)
async def test_what_the_user_must_fix_fails_once_in_airtables_words(
    studio: Studio, airtable_api: AirtableAPI, data: dict[str, object], words: str
) -> None:
    connection = await connect(studio, airtable_api)
    workflow = await studio.publish(
        [action_step("add", "airtable.create_records", {"base_id": BASE, **data}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert words in execution["error"]
    assert len(airtable_api.requests) == 1


async def test_a_rate_limit_without_retry_after_waits_airtables_thirty_seconds(
    airtable_api: AirtableAPI,
) -> None:
    airtable_api.limited = 1
    async with httpx.AsyncClient() as http:
        ctx = airtable.context(
            {"accessToken": TOKEN, "baseUrl": f"{airtable_api.base_url}/v0"}, http, logging.getLogger()
        )
        with pytest.raises(ActionError) as refused:
            await list_records(ListRecordsInput(base_id=BASE, table="My Tasks"), ctx)
    assert (refused.value.type, refused.value.retryable, refused.value.retry_after) == (
        "HTTP429",
        True,
        QUIET_AFTER_429,
    )


def test_ids_are_checked_naming_the_field() -> None:
    actions = INTEGRATIONS["airtable"].actions
    with pytest.raises(ValueError, match="base_id"):
        actions["list_records"].input_model.model_validate({"base_id": "../meta", "table": "T"})
    with pytest.raises(ValueError, match=r"records\.0\.id"):
        actions["update_records"].input_model.model_validate(
            {"base_id": BASE, "table": "T", "records": [{"id": "nope", "fields": {}}]}
        )


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("airtable")] == [
        "airtable.list_records",
        "airtable.update_records",
    ]
