"""The waiting scenario: runs parked on approvals, then decided."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.common import Api, RawResponse, Row, drain, fire, report
from bench.stack import BenchStack

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def waiting(stack: BenchStack, api: Api, db: asyncpg.Connection, total: int) -> list[Row]:
    """`total` runs parked at once, half on a delay (until a common time), half on an approval."""
    delay_steps: list[dict[str, Any]] = [
        {"id": "wait", "type": "delay", "until": "{{ trigger.body.until }}"},
        {"id": "after", "type": "set", "values": {"woke": True}},
    ]
    approval_steps: list[dict[str, Any]] = [
        {"id": "ok", "type": "approval", "message": "bench", "timeoutSeconds": 86400},
        {"id": "after", "type": "set", "values": {"approved": "{{ steps.ok.output.approved }}"}},
    ]
    async_trigger = {"methods": ["POST"], "mode": "async"}
    delayed_id, delayed_token = await api.publish("Bench delays", async_trigger, delay_steps)
    approved_id, approved_token = await api.publish("Bench approvals", async_trigger, approval_steps)
    workflows = [delayed_id, approved_id]
    # Everything must be parked before the delays end: ingest at >= 50/s plus a margin.
    wake = datetime.now(UTC) + timedelta(seconds=60 + total / 50)
    rss_start = stack.rss_mb("worker")
    cpu_start = stack.cpu_seconds("worker")

    async def call(n: int) -> RawResponse:
        token = delayed_token if n % 2 else approved_token
        return await api.load.post(f"/hooks/{token}", {"until": wake.isoformat()})

    print(f"    parking {total} runs (delays end at {wake:%H:%M:%S} UTC) ...", flush=True)
    began = time.perf_counter()
    _, responses, wall = await fire(call, 50, total)
    refused = sum(1 for r in responses if r.status_code != 202)
    print(f"    {total - refused} accepted in {wall:.0f} s; waiting for all to be parked ...", flush=True)
    approvals = [
        r.json()["executionId"] for n, r in enumerate(responses) if r.status_code == 202 and n % 2 == 0
    ]
    # Parked: RUNNING, and the worker's CPU back to near zero.
    while True:
        running = await db.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'RUNNING'",
            workflows,
        )
        cpu_before = stack.cpu_seconds("worker")
        await asyncio.sleep(2)
        busy = (stack.cpu_seconds("worker") - cpu_before) / 2
        if running >= total - refused and busy < 0.05:
            break
        if datetime.now(UTC) >= wake:
            break
    parked_after = time.perf_counter() - began
    rss_parked = stack.rss_mb("worker")
    cpu_before = stack.cpu_seconds("worker")
    await asyncio.sleep(10)
    cpu_waiting = (stack.cpu_seconds("worker") - cpu_before) / 10 * 100
    rss_parked = max(rss_parked, stack.rss_mb("worker"))
    early = await db.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'SUCCESS'",
        workflows,
    )
    print(f"    releasing {len(approvals)} approvals; the delays end by themselves ...", flush=True)
    released = time.perf_counter()

    async def approve(n: int) -> httpx.Response:
        path = f"{api.base}/executions/{approvals[n]}/steps/ok/decision"
        keyed = {**api.headers, "Idempotency-Key": f"bench-{approvals[n]}"}  # a resend is the same decision
        for _ in range(20):
            try:
                response = await api.client.post(path, headers=keyed, json={"approved": True})
            except httpx.TransportError:  # a keep-alive connection the server closed while idle
                await asyncio.sleep(0.1)
                continue
            if response.status_code not in (409, 503):  # 503: no worker took it in time; safe to resend
                return response
            await asyncio.sleep(0.5)
        return response

    _, decisions, _ = await fire(approve, 50, len(approvals))
    refused_decisions = [d for d in decisions if d.status_code >= 400]
    # one line per kind of refusal (the execution ids in the texts made every one unique)
    reasons = Counter(
        UUID_TEXT.sub("{id}", f"{d.status_code} {d.json().get('detail', '')[:240]}")
        for d in refused_decisions
    )
    for reason, count in reasons.most_common(3):  # what refused them, for whoever profiles this next
        print(f"    {count} decisions refused: {reason}", flush=True)
    await drain(db, workflows, timeout=600 + total / 20)
    finished = time.perf_counter() - released
    succeeded = await db.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'SUCCESS'",
        workflows,
    )
    row = Row(f"{total} runs waiting at once")
    row.rss_mb = rss_parked
    row.cpu_s_per_run = (stack.cpu_seconds("worker") - cpu_start) / total
    row.runs_per_s = succeeded / finished
    row.ratio, row.baseline = rss_parked / rss_start, f"worker RSS before ({rss_start:.0f} MB)"
    row.target = "worker RSS <= 500 MB, all complete"
    row.met = rss_parked <= 500 and succeeded == total
    row.notes.append(
        f"worker {rss_parked:.0f} MB and {cpu_waiting:.1f}% CPU while {total - refused} runs wait "
        f"(parked {parked_after:.0f} s after the first call); {early} finished before release; "
        f"{succeeded}/{total} SUCCESS {finished:.0f} s after release (runs/s = completions after release); "
        f"{refused} webhook calls and {len(refused_decisions)} decisions refused"
    )
    return [report(row)]
