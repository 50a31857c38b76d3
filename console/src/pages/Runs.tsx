// The runs of a workspace, newest first: filtered by status and workflow, live (the workspace's event
// stream, with polling as a fallback), virtualised (only the rows in view are in the page) so thousands
// of runs scroll smoothly.
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, must, type ExecutionStatus } from "../api/client";
import { duration, triggerOf, when } from "../format";
import { Status } from "../Status";
import { useWorkflows } from "../workflows";

const STATUSES: ExecutionStatus[] = ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED", "TIMEOUT"];
const ROW_HEIGHT = 44;
const REFRESH_MS = 10_000; // polling, in case the event stream is cut
const EVENTS_SETTLE_MS = 500; // a burst of events refetches once

/** Refetches the runs when the workspace's event stream says a run changed. */
function useWorkspaceEvents(workspaceId: string) {
  const queries = useQueryClient();
  useEffect(() => {
    const stream = new EventSource(`/api/v1/workspaces/${workspaceId}/events`, { withCredentials: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void queries.invalidateQueries({ queryKey: ["runs", workspaceId] });
      }, EVENTS_SETTLE_MS);
    };
    // the stream's events are typed (README, "Live updates"): a run's status, a step's
    stream.addEventListener("execution", changed);
    stream.addEventListener("step", changed);
    return () => {
      clearTimeout(timer);
      stream.close();
    };
  }, [workspaceId, queries]);
}

export function Runs() {
  const workspaceId = useParams().workspaceId!;
  const [search, setSearch] = useSearchParams();
  const status = (search.get("status") || undefined) as ExecutionStatus | undefined;
  const workflowId = search.get("workflow") || undefined;
  const workflows = useWorkflows(workspaceId);
  useWorkspaceEvents(workspaceId);
  const runs = useInfiniteQuery({
    queryKey: ["runs", workspaceId, status, workflowId],
    queryFn: ({ pageParam }) =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/executions", {
          params: {
            path: { workspace_id: workspaceId },
            query: { status, workflowId, limit: 100, cursor: pageParam },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: REFRESH_MS,
  });
  const rows = runs.data?.pages.flatMap((page) => page.items) ?? [];
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const lastShown = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (lastShown >= rows.length - 20 && runs.hasNextPage && !runs.isFetchingNextPage) void runs.fetchNextPage();
  }, [lastShown, rows.length, runs]);

  const choose = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    setSearch(next, { replace: true });
  };

  return (
    <section className="runs">
      <h1>Runs</h1>
      <div className="filters">
        <label>
          Status
          <select value={status ?? ""} onChange={(e) => choose("status", e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <select value={workflowId ?? ""} onChange={(e) => choose("workflow", e.target.value)}>
            <option value="">any</option>
            {[...(workflows.data?.values() ?? [])].map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" aria-live="polite">
          {runs.isFetching ? "refreshing…" : `${rows.length} runs${runs.hasNextPage ? "+" : ""}`}
        </span>
      </div>
      {runs.error && <p role="alert">{runs.error.message}</p>}
      <div role="table" aria-label="Runs" aria-rowcount={rows.length + 1} className="grid">
        <div role="rowgroup">
          <div role="row" className="row head">
            <span role="columnheader">Workflow</span>
            <span role="columnheader">Status</span>
            <span role="columnheader">Trigger</span>
            <span role="columnheader">Started</span>
            <span role="columnheader">Duration</span>
          </div>
        </div>
        <div role="rowgroup" ref={scroller} className="scroller">
          <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const run = rows[item.index];
              const workflow = workflows.data?.get(run.workflowId);
              return (
                <div
                  role="row"
                  aria-rowindex={item.index + 2}
                  key={run.id}
                  className="row"
                  style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  <span role="cell">
                    <Link to={`/w/${workspaceId}/runs/${run.id}`}>{workflow?.name ?? run.workflowId}</Link>
                  </span>
                  <span role="cell">
                    <Status value={run.status} />
                    {run.live && run.live.state !== "running" && <span className="muted"> {run.live.state}</span>}
                  </span>
                  <span role="cell">{triggerOf(run.context, workflow?.triggerType)}</span>
                  <span role="cell">{when(run.startedAt ?? run.createdAt)}</span>
                  <span role="cell">{duration(run.duration)}</span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      {!runs.isPending && rows.length === 0 && <p>No runs match.</p>}
    </section>
  );
}
