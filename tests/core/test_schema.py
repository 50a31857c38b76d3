"""The live schema after the migrations matches the seed document, table by table and column by column."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from core.models import BATON_COLUMNS, BATON_TABLES
from tests.seed_spec import SEED_COPY, SeedField, SeedSpec, parse, snake

SPEC: SeedSpec = parse()
MODELS = list(SPEC.models.values())
PG_TYPES = {
    "String": "text",
    "Int": "integer",
    "Boolean": "boolean",
    "DateTime": "timestamp with time zone",
    "Json": "jsonb",
}


def test_the_seed_copy_is_the_shared_specification() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "seed-schema.md"
    if not shared.exists():
        pytest.skip(f"no {shared} beside the repository to compare tests/fixtures/seed-schema.md with")
    assert SEED_COPY.read_text() == shared.read_text()


def test_the_seed_defines_fifteen_models_and_six_enums() -> None:
    assert len(SPEC.models) == 15
    assert len(SPEC.enums) == 6
    assert len(SPEC.high_priority_indexes) == 10


async def create_user(db: asyncpg.Connection, email: str) -> str:
    return str(
        await db.fetchval(
            "INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'h', 'F', 'L') "
            "RETURNING id",
            email,
        )
    )


async def _columns(db: asyncpg.Connection, table: str) -> dict[str, asyncpg.Record]:
    rows = await db.fetch(
        """SELECT column_name, data_type, udt_name, is_nullable, column_default
           FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1""",
        table,
    )
    return {row["column_name"]: row for row in rows}


async def test_exactly_the_seed_tables_exist(db: asyncpg.Connection) -> None:
    tables = {
        row["table_name"]
        for row in await db.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }
    assert tables - {"alembic_version"} - BATON_TABLES == {model.table for model in MODELS}
    assert BATON_TABLES <= tables


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.table)
async def test_table_has_the_seed_columns_with_their_types_and_nullability(
    db: asyncpg.Connection, model: object
) -> None:
    from tests.seed_spec import SeedModel

    assert isinstance(model, SeedModel)
    columns = await _columns(db, model.table)
    added = BATON_COLUMNS.get(model.table, frozenset())
    assert added <= set(columns)
    assert set(columns) - added == {f.column for f in model.fields}, "columns differ from the seed"
    for seed_field in model.fields:
        column = columns[seed_field.column]
        if seed_field.is_list:
            assert (column["data_type"], column["udt_name"]) == ("ARRAY", "_text"), seed_field.name
        elif seed_field.type in SPEC.enums:
            assert (column["data_type"], column["udt_name"]) == ("USER-DEFINED", snake(seed_field.type))
        else:
            assert column["data_type"] == PG_TYPES[seed_field.type], seed_field.name
        assert (column["is_nullable"] == "YES") == seed_field.optional, f"{seed_field.name} nullability"
        _assert_default(seed_field, column["column_default"])


def _assert_default(seed_field: SeedField, actual: str | None) -> None:
    expected = seed_field.default
    if expected is None:
        if not seed_field.is_list:  # lists get '{}' so a row never holds NULL where the seed has no `?`
            assert actual is None or "updated_at" == seed_field.column or seed_field.column == "created_at", (
                f"{seed_field.name} has an unexpected default {actual}"
            )
        return
    assert actual is not None, f"{seed_field.name} should default to {expected}"
    if expected == "uuid()":
        assert "gen_random_uuid()" in actual
    elif expected == "now()":
        assert actual == "now()"
    elif expected == '"{}"':
        assert actual.startswith("'{}'::jsonb")
    else:
        assert actual.split("::")[0].strip("'") == expected, f"{seed_field.name}: {actual} != {expected}"


async def test_enum_types_have_the_seed_labels_in_order(db: asyncpg.Connection) -> None:
    for name, labels in SPEC.enums.items():
        rows = await db.fetch(
            """SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
               WHERE t.typname = $1 ORDER BY e.enumsortorder""",
            snake(name),
        )
        assert [r["enumlabel"] for r in rows] == labels, name


async def _indexes(db: asyncpg.Connection) -> list[tuple[str, str, bool, list[str]]]:
    """(table, index name, unique, [column definitions as PostgreSQL prints them, with DESC])."""
    rows = await db.fetch(
        """SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indnatts AS n,
                  x.indexrelid
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public'"""
    )
    found = []
    for row in rows:
        columns = [
            await db.fetchval("SELECT pg_get_indexdef($1, $2, true)", row["indexrelid"], position)
            for position in range(1, row["n"] + 1)
        ]
        definition = await db.fetchval("SELECT pg_get_indexdef($1)", row["indexrelid"])
        columns = [f"{c} DESC" if re.search(rf"\b{c} DESC\b", definition) else c for c in columns]
        found.append((row["table"], row["name"], row["unique"], columns))
    return found


async def test_every_seed_index_exists(db: asyncpg.Connection) -> None:
    indexes = await _indexes(db)
    by_columns = {(table, tuple(c.removesuffix(" DESC") for c in cols)) for table, _, _, cols in indexes}
    for model in MODELS:
        for columns in model.indexes:
            assert (model.table, tuple(columns)) in by_columns, f"{model.table} @@index({columns}) is missing"


async def test_every_high_priority_index_exists_by_name_with_its_columns_and_order(
    db: asyncpg.Connection,
) -> None:
    indexes = {name: (table, cols) for table, name, _, cols in await _indexes(db)}
    for name, (table, written) in SPEC.high_priority_indexes.items():
        assert name in indexes, f"{name} is missing"
        assert indexes[name] == (table, [c.strip() for c in written.split(",")]), name


async def test_every_seed_unique_is_enforced(db: asyncpg.Connection) -> None:
    uniques = {(table, tuple(cols)) for table, _, unique, cols in await _indexes(db) if unique}
    for model in MODELS:
        expected = [[f.column] for f in model.fields if "@unique" in f.attributes] + model.uniques
        expected += [[f.column] for f in model.fields if "@id" in f.attributes]
        for columns in expected:
            assert (model.table, tuple(columns)) in uniques, f"{model.table} unique {columns} is missing"


async def test_relations_have_foreign_keys_with_the_seed_delete_rule(db: asyncpg.Connection) -> None:
    rows = await db.fetch(
        """SELECT c.conrelid::regclass::text AS table, a.attname AS column,
                  c.confrelid::regclass::text AS target,
                  c.confdeltype::text AS on_delete
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.contype = 'f'"""
    )
    keys = {(r["table"], r["column"]): (r["target"], r["on_delete"]) for r in rows}
    tables = {m.name: m.table for m in MODELS}
    for model in MODELS:
        for relation in model.relations:
            match = re.search(r"fields: \[(\w+)\]", relation.attributes)
            if not match:
                continue  # the other side of a relation (a list field)
            column = snake(match.group(1))
            rule = "c" if "onDelete: Cascade" in relation.attributes else ("n" if relation.optional else "r")
            assert keys.get((model.table, column)) == (tables[relation.type], rule), f"{model.table}.{column}"


async def test_updated_at_moves_on_every_update_even_from_plain_sql(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('a@x.io', 'h', 'A', 'B')"
    )
    before = await db.fetchrow("SELECT created_at, updated_at FROM users")
    await db.execute("UPDATE users SET first_name = 'C'")  # a new transaction, so now() has moved
    after = await db.fetchval("SELECT updated_at FROM users")
    assert before["created_at"] == before["updated_at"] < after
    for model in MODELS:
        has_updated_at = any("@updatedAt" in f.attributes for f in model.fields)
        trigger = await db.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2",
            model.table,
            f"{model.table}_set_updated_at",
        )
        assert trigger == (1 if has_updated_at else 0), model.table


async def test_a_row_written_with_required_fields_only_gets_the_seed_defaults(db: asyncpg.Connection) -> None:
    workspace = await db.fetchrow("INSERT INTO workspaces (name, slug) VALUES ('Acme', 'acme') RETURNING *")
    assert (workspace["plan"], workspace["max_workflows"], workspace["max_executions"]) == ("FREE", 5, 1000)
    assert re.fullmatch(r"[0-9a-f-]{36}", workspace["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute("INSERT INTO workspaces (name, slug) VALUES ('Other', 'acme')")
    with pytest.raises(asyncpg.InvalidTextRepresentationError):
        await db.execute("INSERT INTO workspaces (name, slug, plan) VALUES ('Other', 'o', 'GOLD')")


async def test_deleting_a_workspace_cascades_to_everything_it_owns(db: asyncpg.Connection) -> None:
    user = await create_user(db, "o@x.io")
    workspace = await db.fetchval("INSERT INTO workspaces (name, slug) VALUES ('W', 'w') RETURNING id")
    await db.execute(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'OWNER')",
        workspace,
        user,
    )
    await db.execute(
        "INSERT INTO integrations (id, name, description, icon, category, auth_type) "
        "VALUES ('x', 'X', 'x', 'i', 'c', 'NONE')"
    )
    connection = await db.fetchval(
        "INSERT INTO connections (user_id, workspace_id, integration_id, name, credentials) "
        "VALUES ($1, $2, 'x', 'c', '{}') RETURNING id",
        user,
        workspace,
    )
    workflow = await db.fetchval(
        "INSERT INTO workflows (workspace_id, user_id, name, trigger_type, trigger_config, steps, "
        "connection_id) VALUES ($1, $2, 'wf', 'MANUAL', '{}', '[]', $3) RETURNING id",
        workspace,
        user,
        connection,
    )
    await db.execute(
        "INSERT INTO workflow_versions (workflow_id, version, name, trigger_type, trigger_config, "
        "steps, created_by) VALUES ($1, 1, 'wf', 'MANUAL', '{}', '[]', $2)",
        workflow,
        user,
    )
    execution = await db.fetchval(
        "INSERT INTO workflow_executions (workflow_id, trigger_data) VALUES ($1, '{}') RETURNING id", workflow
    )
    await db.execute(
        "INSERT INTO step_executions (execution_id, step_id, step_type, input) "
        "VALUES ($1, 's', 'action', '{}')",
        execution,
    )
    await db.execute("INSERT INTO webhooks (workflow_id, url, token) VALUES ($1, 'u', 't')", workflow)

    # A workflow's creator cannot be deleted while the workflow exists (the seed's relation has no cascade).
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("DELETE FROM users WHERE id = $1", user)
    await db.execute("DELETE FROM workspaces WHERE id = $1", workspace)
    for table in (
        "workspace_members",
        "connections",
        "workflows",
        "workflow_versions",
        "workflow_executions",
        "step_executions",
        "webhooks",
    ):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_listing_a_workflows_recent_executions_uses_its_index_at_realistic_volume(
    db: asyncpg.Connection,
) -> None:
    user = await create_user(db, "e@x.io")
    workspace = await db.fetchval("INSERT INTO workspaces (name, slug) VALUES ('E', 'e') RETURNING id")
    # A workspace-heavy installation: 1,000 workflows, 100,000 executions spread over them.
    workflows = [
        r["id"]
        for r in await db.fetch(
            "INSERT INTO workflows (workspace_id, user_id, name, trigger_type, trigger_config, steps) "
            "SELECT $1, $2, 'wf' || g, 'MANUAL', '{}', '[]' FROM generate_series(1, 1000) g RETURNING id",
            workspace,
            user,
        )
    ]
    await db.execute(
        """INSERT INTO workflow_executions (workflow_id, status, trigger_data, created_at)
           SELECT ($1::text[])[1 + (g % 1000)],
                  (ARRAY['SUCCESS','FAILED','RUNNING']::execution_status[])[1 + g % 3],
                  '{}', now() - g * interval '1 minute'
           FROM generate_series(1, 100000) g""",
        workflows,
    )
    await db.execute("ANALYZE workflow_executions")
    plan = "\n".join(
        r[0]
        for r in await db.fetch(
            "EXPLAIN SELECT * FROM workflow_executions WHERE workflow_id = $1 "
            "ORDER BY created_at DESC LIMIT 50",
            workflows[7],
        )
    )
    assert "idx_executions_workflow_created" in plan, plan
    assert "Sort" not in plan, plan
