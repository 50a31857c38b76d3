"""The MongoDB log store (PyMongo's async API), with the seed's collections and TTL indexes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core.analytics import (
    EXECUTIONS,
    INTEGRATION_USAGE,
    LOG_BASE,
    MODEL_USAGE,
    STEP_FAILED,
    STEP_FAILURES,
    WORKFLOW_EXECUTED,
    DailyRow,
    GroupedCount,
    day_start,
    fold,
)
from core.logstore.base import PURGEABLE, LogQuery, LogRetention, without
from core.models.enums import FAILED_STATUSES


class MongoLogStore:
    kind = "mongodb"

    def __init__(self, url: str, database: str, retention: LogRetention | None = None) -> None:
        from pymongo import AsyncMongoClient

        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=2000, tz_aware=True
        )
        self.database = self._client[database]
        self._retention = retention or LogRetention()
        self._indexed = False

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def ensure_indexes(self) -> None:
        """The seed's indexes, plus TTL indexes that remove what retention would (a safety net when the
        maintenance workflow does not run: raw analytics get a week's grace to be aggregated first)."""
        if self._indexed:
            return
        day = 86_400
        usage = self.database["integration_usage"]
        await usage.create_index([("integrationId", 1), ("timestamp", -1)])
        await usage.create_index([("workspaceId", 1), ("timestamp", -1)])
        logs = self.database["execution_logs"]
        await logs.create_index([("executionId", 1), ("timestamp", 1)])
        await logs.create_index([("workflowId", 1), ("timestamp", -1)])
        events = self.database["analytics_events"]
        await events.create_index([("workspaceId", 1), ("timestamp", -1)])
        await events.create_index([("event", 1), ("timestamp", -1)])
        daily = self.database["analytics_daily"]
        await daily.create_index(
            [("workspaceId", 1), ("day", 1), ("kind", 1), ("workflowId", 1), ("name", 1)], unique=True
        )
        retention = self._retention
        for name, field_name, seconds in (
            ("execution_logs", "timestamp", retention.execution_log_days * day),
            ("analytics_events", "timestamp", (retention.analytics_raw_days + 7) * day),
            ("integration_usage", "timestamp", (retention.analytics_raw_days + 7) * day),
            ("analytics_daily", "day", (retention.analytics_days + 1) * day),
        ):
            await self._ttl_index(name, field_name, seconds)
        self._indexed = True

    async def _ttl_index(self, collection: str, field_name: str, seconds: int) -> None:
        from pymongo.errors import OperationFailure

        name = f"{field_name}_ttl"
        try:
            await self.database[collection].create_index(field_name, name=name, expireAfterSeconds=seconds)
        except OperationFailure:  # the retention changed: the index takes the new value in place
            await self.database.command(
                "collMod", collection, index={"name": name, "expireAfterSeconds": seconds}
            )

    async def _insert(self, collection: str, documents: list[dict[str, Any]]) -> None:
        await self.ensure_indexes()
        await self.database[collection].insert_many([dict(d) for d in documents], ordered=False)

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        await self._insert("integration_usage", documents)

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        from bson import ObjectId

        # the entry's id is the document's `_id` (live events carry it, replays start after it)
        await self._insert(
            "execution_logs",
            [
                {"_id": ObjectId(d["id"]) if d.get("id") else ObjectId(), **without(d, "id")}
                for d in documents
            ],
        )

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        await self._insert("analytics_events", documents)

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        from bson import ObjectId

        selector: dict[str, Any] = {"executionId": query.execution_id}
        if query.level:
            selector["level"] = query.level
        if query.step_id:
            selector["stepId"] = query.step_id
        if query.after:
            at, last = query.after
            selector["$or"] = [{"timestamp": {"$gt": at}}, {"timestamp": at, "_id": {"$gt": ObjectId(last)}}]
        cursor = (
            self.database["execution_logs"]
            .find(selector)
            .sort([("timestamp", 1), ("_id", 1)])
            .limit(query.limit)
        )
        return [{**{k: v for k, v in d.items() if k != "_id"}, "id": str(d["_id"])} async for d in cursor]

    async def daily_rows(self, workspace_id: str | None, since: datetime, until: datetime) -> list[DailyRow]:
        match: dict[str, Any] = {"timestamp": {"$gte": since, "$lt": until}}
        if workspace_id is not None:
            match["workspaceId"] = workspace_id
        day = {"$dateTrunc": {"date": "$timestamp", "unit": "day", "timezone": "UTC"}}

        def bucket(duration: str) -> dict[str, Any]:
            return {
                "$floor": {
                    "$divide": [{"$ln": {"$add": [{"$max": [{"$ifNull": [duration, 0]}, 0]}, 1]}}, LOG_BASE]
                }
            }

        executed = {"$eq": ["$event", WORKFLOW_EXECUTED]}
        event_groups = self.database["analytics_events"].aggregate(
            [
                {"$match": {**match, "event": {"$in": [WORKFLOW_EXECUTED, STEP_FAILED]}}},
                {
                    "$group": {
                        "_id": {
                            "day": day,
                            "workspace": "$workspaceId",
                            "workflow": {"$ifNull": ["$workflowId", ""]},
                            "event": "$event",
                            "name": {
                                "$cond": [
                                    executed,
                                    {"$ifNull": ["$properties.status", ""]},
                                    {"$ifNull": ["$properties.stepId", ""]},
                                ]
                            },
                            "bucket": {"$cond": [executed, bucket("$properties.duration"), None]},
                        },
                        "n": {"$sum": 1},
                        "durationSum": {"$sum": {"$ifNull": ["$properties.duration", 0]}},
                    }
                },
            ]
        )
        groups: list[GroupedCount] = []
        async for g in await event_groups:
            key = g["_id"]
            is_run = key["event"] == WORKFLOW_EXECUTED
            groups.append(
                GroupedCount(
                    key["workspace"],
                    key["day"].date(),
                    EXECUTIONS if is_run else STEP_FAILURES,
                    key["workflow"],
                    key["name"],
                    int(key["bucket"]) if key["bucket"] is not None else None,
                    g["n"],
                    g["n"] if not is_run or key["name"] in FAILED_STATUSES else 0,
                    int(g["durationSum"]) if is_run else 0,
                )
            )
        usage_groups = self.database["integration_usage"].aggregate(
            [
                {"$match": {**match, "workspaceId": match.get("workspaceId", {"$ne": None})}},
                {
                    "$group": {
                        "_id": {
                            "day": day,
                            "workspace": "$workspaceId",
                            "name": {"$concat": ["$integrationId", ".", "$action"]},
                            "bucket": bucket("$duration"),
                        },
                        "n": {"$sum": 1},
                        "errors": {"$sum": {"$cond": ["$success", 0, 1]}},
                        "durationSum": {"$sum": {"$ifNull": ["$duration", 0]}},
                    }
                },
            ]
        )
        async for g in await usage_groups:
            key = g["_id"]
            groups.append(
                GroupedCount(
                    key["workspace"],
                    key["day"].date(),
                    INTEGRATION_USAGE,
                    "",
                    key["name"],
                    int(key["bucket"]),
                    g["n"],
                    g["errors"],
                    int(g["durationSum"]),
                )
            )
        model_groups = self.database["integration_usage"].aggregate(
            [
                {
                    "$match": {
                        **match,
                        "workspaceId": match.get("workspaceId", {"$ne": None}),
                        "metadata.model": {"$type": "string"},
                    }
                },
                {
                    "$group": {
                        "_id": {
                            "day": day,
                            "workspace": "$workspaceId",
                            "name": {
                                "$concat": [{"$ifNull": ["$metadata.provider", ""]}, ":", "$metadata.model"]
                            },
                        },
                        "n": {"$sum": 1},
                        "errors": {"$sum": {"$cond": ["$success", 0, 1]}},
                        "inputTokens": {"$sum": {"$ifNull": ["$metadata.inputTokens", 0]}},
                        "outputTokens": {"$sum": {"$ifNull": ["$metadata.outputTokens", 0]}},
                        "cost": {
                            "$sum": {
                                "$round": [
                                    {"$multiply": [{"$ifNull": ["$metadata.costUsd", 0]}, 1_000_000]},
                                    0,
                                ]
                            }
                        },
                        "unpriced": {
                            "$sum": {
                                "$cond": [{"$eq": [{"$ifNull": ["$metadata.costUsd", None]}, None]}, 1, 0]
                            }
                        },
                    }
                },
            ]
        )
        async for g in await model_groups:
            key = g["_id"]
            groups.append(
                GroupedCount(
                    key["workspace"],
                    key["day"].date(),
                    MODEL_USAGE,
                    "",
                    key["name"],
                    None,
                    g["n"],
                    g["errors"],
                    0,
                    {
                        "inputTokens": int(g["inputTokens"]),
                        "outputTokens": int(g["outputTokens"]),
                        "costMicroUsd": int(g["cost"]),
                        "unpriced": int(g["unpriced"]),
                    },
                )
            )
        return fold(groups)

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]:
        selector: dict[str, Any] = {"day": {"$gte": day_start(since), "$lt": day_start(until)}}
        if workspace_id is not None:
            selector["workspaceId"] = workspace_id
        return [
            DailyRow(
                d["workspaceId"],
                d["day"].date(),
                d["kind"],
                d["workflowId"],
                d["name"],
                d["count"],
                d["errors"],
                d["durationSum"],
                d["histogram"],
            )
            async for d in self.database["analytics_daily"].find(selector)
        ]

    async def write_aggregates(self, rows: list[DailyRow]) -> None:
        from pymongo import ReplaceOne

        if not rows:
            return
        await self.ensure_indexes()
        operations = []
        for row in rows:
            key = {
                "workspaceId": row.workspace_id,
                "day": day_start(row.day),
                "kind": row.kind,
                "workflowId": row.workflow_id,
                "name": row.name,
            }
            figures = {
                "count": row.count,
                "errors": row.errors,
                "durationSum": row.duration_sum,
                "histogram": row.histogram,
            }
            operations.append(ReplaceOne(key, {**key, **figures}, upsert=True))
        await self.database["analytics_daily"].bulk_write(operations, ordered=False)

    async def aggregated_through(self) -> date | None:
        newest = await self.database["analytics_daily"].find_one({}, sort=[("day", -1)])
        return newest["day"].date() if newest else None

    async def oldest_raw(self) -> datetime | None:
        found = [
            d["timestamp"]
            for name in ("analytics_events", "integration_usage")
            if (d := await self.database[name].find_one({}, {"timestamp": 1}, sort=[("timestamp", 1)]))
        ]
        return min(found) if found else None

    async def purge(self, collection: str, before: datetime | date, *, batch: int, dry_run: bool) -> int:
        field_name = PURGEABLE[collection]
        if not isinstance(before, datetime):
            before = day_start(before)
        selector = {field_name: {"$lt": before}}
        documents = self.database[collection]
        if dry_run:
            return int(await documents.count_documents(selector))
        removed = 0
        while True:  # by batches of ids, so no single delete holds the collection for long
            ids = [d["_id"] async for d in documents.find(selector, {"_id": 1}).limit(batch)]
            if not ids:
                return removed
            removed += (await documents.delete_many({"_id": {"$in": ids}})).deleted_count

    async def close(self) -> None:
        await self._client.close()
