// One run: its steps in run order (status, attempts, timing, branch taken, input, output, error), kept
// live by the run's event stream while it has not ended, its actions, and a link to the Temporal UI.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useParams } from "react-router-dom";
import { api, must, type ExecutionDetail, type StepExecution } from "../api/client";
import { duration, triggerOf, ENDED, pretty, when } from "../format";
import { Status } from "../Status";
import { ResumeForm } from "./ResumeForm";
import { useWorkflows } from "../workflows";

const POLL_MS = 2000;

/** While the run has not ended: refetch on each of its events (and by polling, should the stream drop). */
function useLive(workspaceId: string, executionId: string, ended: boolean) {
  const queries = useQueryClient();
  useEffect(() => {
    if (ended) return;
    const url = `/api/v1/workspaces/${workspaceId}/executions/${executionId}/events`;
    const stream = new EventSource(url, { withCredentials: true });
    const changed = () => void queries.invalidateQueries({ queryKey: ["run", workspaceId, executionId] });
    // typed events (README, "Live updates"); the stream ends after the run's final status
    stream.addEventListener("execution", changed);
    stream.addEventListener("step", changed);
    stream.onerror = () => stream.close();
    return () => stream.close();
  }, [workspaceId, executionId, ended, queries]);
}

function Value({ label, value }: { label: string; value: unknown }) {
  if (value === undefined || value === null) return null;
  return (
    <div className="value">
      <h4>{label}</h4>
      <pre tabIndex={0}>{pretty(value)}</pre>
    </div>
  );
}

type ServiceAnswer = { status?: number; headers?: Record<string, string>; body?: unknown; bodyTruncated?: boolean };

/** What a failing service answered, kept by the action on its step (`output.error.response`). */
function serviceAnswer(output: unknown): ServiceAnswer | undefined {
  const error = (output as { error?: { response?: unknown } } | null)?.error;
  const response = error?.response;
  return response && typeof response === "object" ? (response as ServiceAnswer) : undefined;
}

function Answer({ answer }: { answer: ServiceAnswer }) {
  return (
    <div className="value error-box answer">
      <h4>
        The service answered {answer.status ?? "?"}
        {answer.bodyTruncated ? " (body cut)" : ""}
      </h4>
      {answer.headers && <pre tabIndex={0}>{pretty(answer.headers)}</pre>}
      {answer.body !== undefined && <pre tabIndex={0}>{pretty(answer.body)}</pre>}
    </div>
  );
}

type Download = { href: string; label: string };

/** The files and large values in a step's data, as links: a file reference `{fileId, name, size, ...}` to
 * the run's file, a value stored aside `{stored: true, size, url}` to its reading (the session cookie goes
 * with a GET; the API serves both as attachments to the run's readers only). */
export function downloads(value: unknown, filesBase: string, found: Download[] = [], depth = 0): Download[] {
  if (depth > 6 || found.length >= 20 || value === null || typeof value !== "object") return found;
  if (Array.isArray(value)) {
    for (const item of value) downloads(item, filesBase, found, depth + 1);
    return found;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.fileId === "string" && typeof record.sha256 === "string") {
    const size = typeof record.size === "number" ? ` (${record.size.toLocaleString()} bytes)` : "";
    found.push({ href: `${filesBase}/${encodeURIComponent(record.fileId)}`, label: `${String(record.name ?? record.fileId)}${size}` });
    return found;
  }
  if (record.stored === true && typeof record.url === "string" && record.url.startsWith("/api/")) {
    const size = typeof record.size === "number" ? `${record.size.toLocaleString()} bytes` : "a large value";
    found.push({ href: record.url, label: `the stored value (${size})` });
    return found;
  }
  for (const item of Object.values(record)) downloads(item, filesBase, found, depth + 1);
  return found;
}

function Downloads({ links }: { links: Download[] }) {
  if (links.length === 0) return null;
  return (
    <div className="value">
      <h4>Files and large values</h4>
      <ul>
        {links.map((link) => (
          <li key={link.href}>
            <a href={link.href} download>
              Download {link.label}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Step({ step, filesBase }: { step: StepExecution; filesBase: string }) {
  const failed = step.status === "FAILED" || step.status === "TIMEOUT";
  const answer = serviceAnswer(step.output);
  return (
    <li className={`step step-${step.status.toLowerCase()}`}>
      <details open={failed}>
        <summary>
          <span className="seq">{step.sequence ?? ""}</span>
          <strong>{step.stepKey ?? step.stepId}</strong>
          <span className="muted">{step.stepType}</span>
          <Status value={step.status} />
          {step.branchTaken && <span className="branch">→ {step.branchTaken}</span>}
          {step.attempts > 1 && <span className="muted">{step.attempts} attempts</span>}
          {step.state && <span className="muted">{step.state.kind}</span>}
          <span className="muted right">{duration(step.duration)}</span>
        </summary>
        <div className="step-body">
          <p className="muted">
            started {when(step.startedAt)} · ended {when(step.completedAt)}
          </p>
          {step.error && (
            <div className="value error-box">
              <h4>Error</h4>
              <pre tabIndex={0}>{step.error}</pre>
            </div>
          )}
          {answer && <Answer answer={answer} />}
          <Downloads links={downloads([step.input, step.output], filesBase)} />
          <Value label="Input" value={step.input} />
          {!answer && <Value label="Output" value={step.output} />}
        </div>
      </details>
    </li>
  );
}

function Actions({ run, workspaceId }: { run: ExecutionDetail; workspaceId: string }) {
  const queries = useQueryClient();
  const path = { workspace_id: workspaceId, execution_id: run.id };
  const act = useMutation({
    mutationFn: async (action: "cancel" | "retry" | "resume" | "pause" | "unpause") => {
      const params = { params: { path } };
      if (action === "cancel") return must(api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/cancel", params));
      if (action === "retry") return must(api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/retry", params));
      if (action === "resume")
        return must(api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/resume", { ...params, body: { latestVersion: false } }));
      if (action === "pause")
        return must(api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/pause", { ...params, body: {} }));
      return must(api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/unpause", { ...params, body: { giveUp: false, latestVersion: false } }));
    },
    onSettled: () => queries.invalidateQueries({ queryKey: ["run", workspaceId, run.id] }),
  });
  const ended = ENDED.has(run.status);
  const replayable = run.status === "FAILED" || run.status === "TIMEOUT" || run.status === "CANCELLED";
  const button = (action: Parameters<typeof act.mutate>[0], label: string) => (
    <button type="button" disabled={act.isPending} onClick={() => act.mutate(action)}>
      {label}
    </button>
  );
  return (
    <div className="actions">
      {replayable && button("retry", "Retry")}
      {replayable && button("resume", "Resume from the failed step")}
      {!ended && button("pause", "Pause")}
      {!ended && button("unpause", "Unpause")}
      {!ended && button("cancel", "Cancel")}
      <a href={run.temporalUiUrl} target="_blank" rel="noreferrer">
        Open in the Temporal UI
      </a>
      {act.error && <p role="alert">{act.error.message}</p>}
      {act.isSuccess && <p role="status">Done: {act.variables}.</p>}
    </div>
  );
}

export function RunView() {
  const { workspaceId, executionId } = useParams() as { workspaceId: string; executionId: string };
  const workflows = useWorkflows(workspaceId);
  const run = useQuery({
    queryKey: ["run", workspaceId, executionId],
    queryFn: () =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/executions/{execution_id}", {
          params: { path: { workspace_id: workspaceId, execution_id: executionId } },
        }),
      ),
    refetchInterval: (query) => (query.state.data && ENDED.has(query.state.data.status) ? false : POLL_MS),
  });
  const ended = run.data ? ENDED.has(run.data.status) : true;
  useLive(workspaceId, executionId, ended);
  if (run.isPending) return <p>Loading…</p>;
  if (run.error) return <p role="alert">{run.error.message}</p>;
  const data = run.data;
  const workflow = workflows.data?.get(data.workflowId);
  const filesBase = `/api/v1/workspaces/${workspaceId}/executions/${data.id}/files`;
  return (
    <section className="run">
      <p>
        <Link to={`/w/${workspaceId}/runs`}>← Runs</Link>
      </p>
      <h1>
        {workflow?.name ?? data.workflowId} <Status value={data.status} />
      </h1>
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          <code>{data.id}</code>
        </dd>
        <dt>Trigger</dt>
        <dd>{triggerOf(data.context, workflow?.triggerType)}</dd>
        <dt>Started</dt>
        <dd>{when(data.startedAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(data.duration)}</dd>
        {data.live && (
          <>
            <dt>Now</dt>
            <dd>{data.live.state}</dd>
          </>
        )}
      </dl>
      {data.error && (
        <div className="value error-box">
          <h2>Error</h2>
          <pre tabIndex={0}>{data.error}</pre>
        </div>
      )}
      <Actions run={data} workspaceId={workspaceId} />
      {(data.status === "FAILED" || data.status === "TIMEOUT" || data.status === "CANCELLED") && (
        <ResumeForm key={data.id} run={data} workspaceId={workspaceId} />
      )}
      <h2>Steps</h2>
      {data.stepExecutions.length === 0 && <p>No step has run yet.</p>}
      <ol className="steps">
        {data.stepExecutions.map((step) => (
          <Step key={step.id} step={step} filesBase={filesBase} />
        ))}
      </ol>
      <Downloads links={downloads(data.triggerData, filesBase)} />
      <Value label="Trigger data" value={data.triggerData} />
      {ended && <Value label="Result" value={data.result} />}
    </section>
  );
}
