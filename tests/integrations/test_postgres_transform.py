"""PostgreSQL and Transform end to end: bound parameters (a hostile value stays a value), writes and
their status, a new-row trigger on an increasing column, and the everyday data utilities."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.settings import Settings
from tests.factories import action_step
from tests.integrations.conftest import Studio, allow_baton_database, eventually


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """The tables these tests query live on Baton's own PostgreSQL server, which workflows may reach only
    when an operator names it (OUTBOUND_ALLOW_BATON_SERVERS); tests/integrations/test_egress.py proves the
    refusal."""
    return allow_baton_database(settings, database_url)


@pytest.fixture
async def orders(database_url: str, db: asyncpg.Connection) -> str:
    await db.execute(
        "CREATE TABLE shop_orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10,2), "
        "placed_at timestamptz NOT NULL DEFAULT now())"
    )
    await db.execute("INSERT INTO shop_orders (customer, total) VALUES ('ada', 12.50), ('bob', 99)")
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def test_query_binds_parameters_and_reports_what_it_did(studio: Studio, orders: str) -> None:
    connection = await studio.connect("postgres", {"connectionString": orders})
    hostile = "ada' OR '1'='1"
    workflow = await studio.publish(
        [
            action_step(
                "add",
                "postgres.query",
                {
                    "query": "INSERT INTO shop_orders (customer, total) VALUES ($1, $2) RETURNING id",
                    "parameters": ["{{ trigger.customer }}", "{{ trigger.total }}"],
                },
                connection,
            ),
            action_step(
                "find",
                "postgres.query",
                {
                    "query": "SELECT id, customer, total, placed_at FROM shop_orders WHERE customer = $1",
                    "parameters": ["{{ trigger.customer }}"],
                },
                connection,
            ),
            action_step(
                "none",
                "postgres.query",
                {"query": "SELECT * FROM shop_orders WHERE customer = $1", "parameters": [hostile]},
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"customer": "cy", "total": "7.25"})
    assert execution["status"] == "SUCCESS", execution["error"]
    add, find = execution["steps"]["add"]["output"], execution["steps"]["find"]["output"]
    assert (add["command"], add["rowCount"]) == ("INSERT 0 1", 1)
    assert find["rows"][0]["customer"] == "cy"
    assert find["rows"][0]["total"] == 7.25
    assert find["rows"][0]["placed_at"].endswith("+00:00")
    assert execution["steps"]["none"]["output"]["rows"] == []  # the quote stayed inside the value


async def test_sql_errors_fail_the_step_with_the_servers_words(studio: Studio, orders: str) -> None:
    connection = await studio.connect("postgres", {"connectionString": orders})
    execution = await studio.run_action(
        "bad", "postgres.query", connection, {"query": "SELECT nope FROM shop_orders"}
    )
    assert execution["status"] == "FAILED"
    assert 'column "nope" does not exist' in execution["error"]


async def test_new_row_fires_once_per_row_added_after_publishing(
    studio: Studio, orders: str, db: asyncpg.Connection
) -> None:
    connection = await studio.connect("postgres", {"connectionString": orders})
    workflow = await studio.poll(
        "postgres.new_row",
        {"table": "shop_orders", "column": "id"},
        connection,
        [{"id": "got", "type": "set", "values": {"who": "{{ trigger.customer }}"}}],
    )

    async def baselined() -> bool:
        return bool(await db.fetchval("SELECT baseline_at FROM poll_states WHERE workflow_id = $1", workflow))

    assert await eventually(baselined)
    await db.execute("INSERT INTO shop_orders (customer, total) VALUES ('dee', 1), ('eve', 2)")

    async def who() -> list[str]:
        done = [e for e in await studio.executions(workflow) if e["status"] == "SUCCESS"]
        return sorted(e["steps"]["got"]["output"]["who"] for e in done)

    async def both() -> list[str] | None:  # one run per row: wait for both, not the first to finish
        found = await who()
        return found if len(found) >= 2 else None

    assert await eventually(both) == ["dee", "eve"]
    await asyncio.sleep(2)  # two more polls fire nothing more
    assert await who() == ["dee", "eve"]


async def test_transform_utilities_chain_in_a_workflow(studio: Studio) -> None:
    def step(step_id: str, action: str, **data: object) -> dict[str, object]:
        return {"id": step_id, "type": "action", "action": f"transform.{action}", "input": data}

    workflow = await studio.publish(
        [
            step(
                "when",
                "format_date",
                date="{{ trigger.at }}",
                format="%d/%m/%Y %H:%M",
                timezone="Europe/Paris",
            ),
            step("read", "parse_date", text="25/12/2026 18:30", dayFirst=True, timezone="America/New_York"),
            step("parts", "split_text", text="{{ trigger.tags }}", separator=","),
            step(
                "fixed",
                "replace_text",
                text="Order #123 and #456",
                find="#(\\d+)",
                replace="n°\\1",
                regex=True,
            ),
            step(
                "code", "extract_text", text="ref: INV-2026-0042", pattern="INV-(?P<year>\\d{4})-(?P<n>\\d+)"
            ),
            step(
                "money",
                "format_number",
                number=1234567.891,
                decimals=2,
                thousandsSeparator=" ",
                decimalSeparator=",",
                suffix=" €",
            ),
            step("parsed", "parse_json", text='{"a": [1, 2]}'),
            step("text", "stringify_json", value="{{ steps.parsed.output.value }}"),
            step(
                "big",
                "filter_list",
                items="{{ trigger.orders }}",
                field="total",
                operator="greater_than",
                value=10,
            ),
            step("sorted", "sort_list", items="{{ trigger.orders }}", field="total", descending=True),
            step("unique", "dedupe_list", items="{{ trigger.orders }}", field="who"),
            step("batches", "chunk_list", items="{{ [1, 2, 3, 4, 5] }}", size=2),
        ]
    )
    orders = [{"who": "ada", "total": 12}, {"who": "bob", "total": 5}, {"who": "ada", "total": 30}]
    execution = await studio.run(
        workflow, {"at": "2026-07-14T08:00:00Z", "tags": " a, b,,c ", "orders": orders}
    )
    assert execution["status"] == "SUCCESS", execution["error"]
    out = {k: v["output"] for k, v in execution["steps"].items()}
    assert out["when"]["result"] == "14/07/2026 10:00"
    assert out["read"]["iso"] == "2026-12-25T18:30:00-05:00"
    assert out["parts"]["parts"] == ["a", "b", "c"]
    assert out["fixed"]["result"] == "Order n°123 and n°456"
    assert out["code"]["groups"] == {"year": "2026", "n": "0042"}
    assert out["money"]["result"] == "1 234 567,89 €"
    assert out["text"]["result"] == '{"a": [1, 2]}'
    assert [o["total"] for o in out["big"]["items"]] == [12, 30]
    assert [o["total"] for o in out["sorted"]["items"]] == [30, 12, 5]
    assert [o["who"] for o in out["unique"]["items"]] == ["ada", "bob"]
    assert out["batches"]["chunks"] == [[1, 2], [3, 4], [5]]


async def test_a_runaway_regular_expression_fails_its_step_instead_of_stalling_the_worker(
    studio: Studio,
) -> None:
    workflow = await studio.publish(
        [
            {
                "id": "slow",
                "type": "action",
                "action": "transform.extract_text",
                "input": {"text": "a" * 40 + "!", "pattern": "(a|aa)+$"},
                "onError": "continue",
            },
            {"id": "bad", "type": "action", "action": "transform.parse_json", "input": {"text": "{oops"}},
        ]
    )
    execution = await studio.run(workflow)
    assert "simplify it" in str(execution["steps"]["slow"]["output"]["error"])
    assert execution["status"] == "FAILED"
    assert "not JSON" in execution["error"]
