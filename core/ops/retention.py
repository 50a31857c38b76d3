"""The seed's data retention policy, applied: finished executions past their plan's retention (90 days by
default), execution logs past 30 days, audit logs past a year, and analytics folded into daily rows after
30 days, those kept a year. Keys of the workspace data store (core.datastore) go once they expire.

When the tables are partitioned by month (`baton partition`, core.ops.partitions), whole months past retention
are dropped first and the months ahead are added; what is left past retention is deleted row by row.

Every delete removes at most `batch` rows in its own transaction, so no table is locked for long and a
stopped run loses nothing: the next run starts where it left off. Runs that have not finished are never
removed, however old (an approval may wait for months). Raw analytics are removed only after their days
are aggregated.

Blobs (core.blobs: values too large for a run's history) go by owner, as the claim-check keys them: a run's
once its execution row is gone (removed here, or with its workspace) and it wrote nothing for a day (a run
writes its row as it starts, shortly after its first blob); those of Baton's other workflows, and of
nothing, once older than the longest execution retention of any plan (none of them lasts that long).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import datastore
from core.analytics import day_start
from core.blobs import BlobStore, create_blob_store
from core.blobs.claims import WORKFLOWS, execution_of
from core.db import delete_in_batches
from core.logstore import LogStore
from core.models import ExecutionStatus, Plan
from core.ops.partitions import Partitions
from core.plans import execution_retention_days
from core.settings import Settings

FINISHED = tuple(
    s.value
    for s in (
        ExecutionStatus.SUCCESS,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.TIMEOUT,
    )
)
AGGREGATION_CHUNK_DAYS = 7
BLOB_GRACE = timedelta(days=1)


@dataclass
class Removal:
    what: str
    before: datetime | date
    count: int


@dataclass
class RetentionReport:
    dry_run: bool
    removals: list[Removal] = field(default_factory=list)
    aggregated_days: int = 0

    @property
    def total(self) -> int:
        return sum(r.count for r in self.removals)

    def as_dict(self) -> dict[str, object]:
        return {
            "dryRun": self.dry_run,
            "aggregatedDays": self.aggregated_days,
            "removed": {r.what: r.count for r in self.removals},
            "total": self.total,
        }


Progress = Callable[[str], None]


class Retention:
    def __init__(
        self,
        engine: AsyncEngine,
        store: LogStore,
        settings: Settings,
        progress: Progress | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._blobs = blobs if blobs is not None else create_blob_store(settings)
        self._settings = settings
        self._batch = settings.retention_batch_size
        self._progress = progress or (lambda _: None)

    async def run(self, *, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
        now = now or datetime.now(UTC)
        report = RetentionReport(dry_run)
        settings = self._settings
        await self._partitions(report, now)
        for plan in Plan:
            days = execution_retention_days(plan, settings.execution_retention_days)
            before = now - timedelta(days=days)
            count = await self._delete_executions(plan, before, dry_run)
            self._note(report, Removal(f"workflow_executions ({plan.value}, {days} days)", before, count))
        before = now - timedelta(days=settings.audit_log_retention_days)
        self._note(report, Removal("audit_logs", before, await self._delete_audit_logs(before, dry_run)))
        count = await datastore.sweep_expired(self._engine, now, batch=self._batch, dry_run=dry_run)
        self._note(report, Removal("data_store_entries (expired)", now, count))
        before = now - timedelta(days=settings.execution_log_retention_days)
        count = await self._store.purge("execution_logs", before, batch=self._batch, dry_run=dry_run)
        self._note(report, Removal("execution_logs", before, count))

        raw_until = now.date() - timedelta(days=settings.analytics_raw_days)
        if not dry_run:
            report.aggregated_days = await self.aggregate(raw_until)
        for collection in ("analytics_events", "integration_usage"):
            count = await self._store.purge(
                collection, day_start(raw_until), batch=self._batch, dry_run=dry_run
            )
            self._note(report, Removal(collection, day_start(raw_until), count))
        oldest = now.date() - timedelta(days=settings.analytics_retention_days)
        count = await self._store.purge("analytics_daily", oldest, batch=self._batch, dry_run=dry_run)
        self._note(report, Removal("analytics_daily", oldest, count))
        if self._blobs is not None:
            await self._sweep_blobs(self._blobs, report, now)
        return report

    async def _sweep_blobs(self, blobs: BlobStore, report: RetentionReport, now: datetime) -> None:
        longest = max(execution_retention_days(p, self._settings.execution_retention_days) for p in Plan)
        old_before = now - timedelta(days=longest)
        quiet_before = now - BLOB_GRACE
        owners: dict[str, datetime] = {}  # owner prefix -> its newest blob
        async for blob in blobs.scan():
            owner = blob.key.rsplit("/", 1)[0] + "/"
            owners[owner] = max(owners.get(owner, blob.created_at), blob.created_at)
        runs = {o: execution_of(o.removeprefix(WORKFLOWS)[:-1]) for o in owners if o.startswith(WORKFLOWS)}
        kept = await self._existing_executions({e for e in runs.values() if e is not None})
        gone = [
            owner
            for owner, newest in owners.items()
            if (execution := runs.get(owner)) is not None
            and execution not in kept
            and newest < quiet_before
            or execution is None
            and newest < old_before
        ]
        count = 0
        for owner in gone:
            if report.dry_run:
                count += sum([1 async for _ in blobs.scan(owner)])
            else:
                count += await blobs.delete_prefix(owner)
        self._note(report, Removal("blobs", old_before, count))

    async def _existing_executions(self, ids: set[str]) -> set[str]:
        found: set[str] = set()
        listed = sorted(ids)
        for start in range(0, len(listed), self._batch):
            chunk = listed[start : start + self._batch]
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT id FROM workflow_executions WHERE id = ANY(CAST(:ids AS text[]))"),
                    {"ids": chunk},
                )
                found.update(row[0] for row in rows)
        return found

    async def _partitions(self, report: RetentionReport, now: datetime) -> None:
        """Whole months: the oldest plan retention decides for executions (a month is dropped only when
        every plan is done with it and it holds no run still going)."""
        partitions = Partitions(self._engine, self._progress)
        if not await partitions.any_partitioned():
            return
        if not report.dry_run:
            await partitions.add_months_ahead(now)
        longest = max(execution_retention_days(p, self._settings.execution_retention_days) for p in Plan)
        executions_before = now - timedelta(days=longest)
        audit_before = now - timedelta(days=self._settings.audit_log_retention_days)
        for gone in await partitions.drop_expired(executions_before, audit_before, dry_run=report.dry_run):
            upper = gone.partition.upper
            assert upper is not None
            self._note(
                report, Removal(f"{gone.partition.table} (partition {gone.partition.name})", upper, gone.rows)
            )

    def _note(self, report: RetentionReport, removal: Removal) -> None:
        report.removals.append(removal)
        verb = "would remove" if report.dry_run else "removed"
        when = removal.before.date() if isinstance(removal.before, datetime) else removal.before
        self._progress(f"{removal.what}: {verb} {removal.count} older than {when.isoformat()}")

    async def aggregate(self, until: date) -> int:
        """Folds the raw analytics of the days before `until` that are not aggregated yet into
        `analytics_daily`, a week at a time; returns how many days were folded."""
        through = await self._store.aggregated_through()
        start = through + timedelta(days=1) if through is not None else None
        if start is None:
            oldest = await self._store.oldest_raw()
            if oldest is None:
                return 0
            start = oldest.astimezone(UTC).date()
        days = 0
        while start < until:
            end = min(start + timedelta(days=AGGREGATION_CHUNK_DAYS), until)
            rows = await self._store.daily_rows(None, day_start(start), day_start(end))
            await self._store.write_aggregates(rows)
            self._progress(
                f"analytics: aggregated {start.isoformat()} .. {end.isoformat()} ({len(rows)} rows)"
            )
            days += (end - start).days
            start = end
        return days

    async def _delete_executions(self, plan: Plan, before: datetime, dry_run: bool) -> int:
        selected = """
            SELECT e.id FROM workflow_executions e
            JOIN workflows w ON w.id = e.workflow_id
            JOIN workspaces s ON s.id = w.workspace_id
            WHERE s.plan = CAST(:plan AS plan) AND e.created_at < :before
              AND e.status = ANY(CAST(:finished AS execution_status[]))
        """
        scope: dict[str, object] = {"plan": plan.value, "before": before, "finished": list(FINISHED)}
        return await self._delete("workflow_executions", "id", selected, scope, dry_run)

    async def _delete_audit_logs(self, before: datetime, dry_run: bool) -> int:
        # by id, not ctid: a ctid is unique only within one partition once the table is partitioned
        selected = "SELECT id FROM audit_logs WHERE created_at < :before"
        return await self._delete("audit_logs", "id", selected, {"before": before}, dry_run)

    async def _delete(
        self, table: str, key: str, selected: str, params: dict[str, object], dry_run: bool
    ) -> int:
        return await delete_in_batches(
            self._engine, table, key, selected, params, batch=self._batch, dry_run=dry_run
        )
