// The editor of a workflow's draft: its definition as JSON beside an outline of its steps; add a step
// (an action configured through a form made from the action's input schema), move or remove one; save
// (the API's validation errors shown on the step their JSON path names); run the draft with a payload
// (pinned steps are not called) or test one step alone; publish with a message; versions with a diff
// against the draft and restore. Loaded on demand, like the canvas.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, must, type ExecutionDetail, type Schemas } from "../api/client";
import { pretty, when } from "../format";
import { Status } from "../Status";
import { lineDiff } from "../diff";
import { SchemaForm, type JsonSchema } from "../SchemaForm";

type Step = { id: string; type: string; action?: string; [key: string]: unknown };
type Draft = { name: string; triggerType: string; triggerConfig: Record<string, unknown>; steps: Step[] };
type Problem = { path: string | null; detail: string };

const STEP_TYPES = ["action", "set", "condition", "delay", "approval", "stop"];

function skeleton(type: string, id: string): Step {
  switch (type) {
    case "set":
      return { id, type, values: {} };
    case "condition":
      return { id, type, if: "{{ true }}", then: [], else: [] };
    case "delay":
      return { id, type, seconds: 60 };
    case "approval":
      return { id, type, message: "Go on?" };
    case "stop":
      return { id, type, status: "SUCCESS" };
    default:
      return { id, type };
  }
}

/** `steps[3].input.url` -> 3: the top-level step a path names (null: none). */
export function stepIndex(path: string | null): number | null {
  const found = path?.match(/^steps\[(\d+)\]/);
  return found ? Number(found[1]) : null;
}

function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) {
    const body = error.body as { detail?: unknown; path?: string | null } | undefined;
    return { path: body?.path ?? null, detail: error.message };
  }
  return { path: null, detail: String(error) };
}

function useWorkflow(workspaceId: string, workflowId: string) {
  return useQuery({
    queryKey: ["workflow", workspaceId, workflowId],
    queryFn: () =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}", {
          params: { path: { workspace_id: workspaceId, workflow_id: workflowId } },
        }),
      ),
  });
}

function draftOf(workflow: Schemas["WorkflowOut"]): Draft {
  return {
    name: workflow.name,
    triggerType: workflow.triggerType,
    triggerConfig: workflow.triggerConfig as Record<string, unknown>,
    steps: workflow.steps as Step[],
  };
}

export default function WorkflowEditor() {
  const { workspaceId, workflowId } = useParams() as { workspaceId: string; workflowId: string };
  const queries = useQueryClient();
  const workflow = useWorkflow(workspaceId, workflowId);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState("");
  useEffect(() => {
    if (workflow.data && !text) setText(JSON.stringify(draftOf(workflow.data), null, 2));
  }, [workflow.data, text]);
  const parsed = useMemo((): { draft?: Draft; error?: string } => {
    try {
      return text ? { draft: JSON.parse(text) as Draft } : {};
    } catch (error) {
      return { error: (error as Error).message };
    }
  }, [text]);
  const path = { workspace_id: workspaceId, workflow_id: workflowId };
  const change = (next: string) => {
    setText(next);
    setSaved(""); // "Saved at" speaks of the text as saved, not as edited since
  };
  const edit = (step: (draft: Draft) => void) => {
    if (!parsed.draft) return;
    const next = structuredClone(parsed.draft);
    step(next);
    change(JSON.stringify(next, null, 2));
  };

  const save = useMutation({
    mutationFn: (draft: Draft) =>
      must(api.PATCH("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}", { params: { path }, body: draft as never })),
    onSuccess: (data) => {
      setProblem(null);
      setSaved(`Saved at ${when(data.updatedAt)}`);
      queries.setQueryData(["workflow", workspaceId, workflowId], data);
      void queries.invalidateQueries({ queryKey: ["workflows", workspaceId] });
    },
    onError: (error) => {
      setSaved("");
      setProblem(problemOf(error));
    },
  });
  const marked = stepIndex(problem?.path ?? null);

  if (workflow.error) return <p role="alert">{workflow.error.message}</p>;
  return (
    <section className="editor-page">
      <p>
        <Link to={`/w/${workspaceId}/workflows`}>← Workflows</Link> ·{" "}
        <Link to={`/w/${workspaceId}/workflows/${workflowId}`}>canvas</Link> ·{" "}
        <Link to={`/w/${workspaceId}/runs?workflow=${workflowId}`}>its runs</Link>
      </p>
      <h1>Edit {workflow.data?.name ?? "workflow"}</h1>
      <p className="muted">
        {workflow.data && `version ${workflow.data.version} · ${workflow.data.isDraft ? "draft differs from the published version" : "draft is published"}`}
      </p>
      <div className="editor">
        <div className="editor-outline">
          <h2>Steps</h2>
          <ol className="outline">
            {(parsed.draft?.steps ?? []).map((step, index) => (
              <li key={`${step.id}-${index}`} className={index === marked ? "outline-step invalid" : "outline-step"}>
                <span>
                  <strong>{step.id}</strong> <span className="muted">{step.action ?? step.type}</span>
                </span>
                <span className="row-actions">
                  <button type="button" aria-label={`Move ${step.id} up`} disabled={index === 0}
                    onClick={() => edit((d) => d.steps.splice(index - 1, 0, ...d.steps.splice(index, 1)))}>↑</button>
                  <button type="button" aria-label={`Move ${step.id} down`} disabled={index === (parsed.draft?.steps.length ?? 0) - 1}
                    onClick={() => edit((d) => d.steps.splice(index + 1, 0, ...d.steps.splice(index, 1)))}>↓</button>
                  <button type="button" className="danger" aria-label={`Remove ${step.id}`}
                    onClick={() => edit((d) => void d.steps.splice(index, 1))}>✕</button>
                </span>
                {index === marked && problem && <p role="alert" className="error">{problem.path}: {problem.detail}</p>}
              </li>
            ))}
          </ol>
          <AddStep taken={(parsed.draft?.steps ?? []).map((s) => s.id)} onAdd={(step) => edit((d) => void d.steps.push(step))} />
        </div>
        <div className="editor-text">
          <label htmlFor="definition">The definition (JSON)</label>
          <textarea id="definition" className="code" spellCheck={false} value={text}
            onChange={(e) => change(e.target.value)} rows={24} aria-invalid={!!parsed.error || !!problem} />
          {parsed.error && <p role="alert">Not JSON yet: {parsed.error}</p>}
          <div className="actions">
            <button type="button" disabled={!parsed.draft || save.isPending} onClick={() => parsed.draft && save.mutate(parsed.draft)}>
              Save draft
            </button>
            {saved && <span role="status">{saved}</span>}
          </div>
          {problem && marked === null && <p role="alert">{problem.path ? `${problem.path}: ` : ""}{problem.detail}</p>}
        </div>
      </div>
      <TryIt workspaceId={workspaceId} workflowId={workflowId} steps={parsed.draft?.steps ?? []} />
      <Publish workspaceId={workspaceId} workflowId={workflowId} draftText={text} onRestored={(w) => setText(JSON.stringify(draftOf(w), null, 2))} />
    </section>
  );
}

/** Adds a step: its type and id; an action picked from the catalogue and configured by its input's form. */
function AddStep({ taken, onAdd }: { taken: string[]; onAdd: (step: Step) => void }) {
  const [type, setType] = useState("action");
  const [id, setId] = useState("");
  const [integration, setIntegration] = useState("");
  const [action, setAction] = useState("");
  const [input, setInput] = useState<Record<string, unknown>>({});
  const integrations = useQuery({
    queryKey: ["integrations"],
    queryFn: () => must(api.GET("/api/v1/integrations")),
    enabled: type === "action",
  });
  const detail = useQuery({
    queryKey: ["integration", integration],
    queryFn: () => must(api.GET("/api/v1/integrations/{integration_id}", { params: { path: { integration_id: integration } } })),
    enabled: !!integration,
  });
  const chosen = detail.data?.actions.find((a) => a.id === action);
  const valid = /^[a-z][a-z0-9_]*$/.test(id) && !taken.includes(id) && (type !== "action" || !!chosen);
  return (
    <fieldset className="add-step">
      <legend>Add a step</legend>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value)}>
          {STEP_TYPES.map((t) => <option key={t}>{t}</option>)}
        </select>
      </label>
      <label>
        Id
        <input value={id} onChange={(e) => setId(e.target.value)} placeholder="send_welcome" aria-describedby="step-id-help" />
      </label>
      <p id="step-id-help" className="muted">lower case, digits and _; unique in the workflow</p>
      {type === "action" && (
        <>
          <label>
            Integration
            <select value={integration} onChange={(e) => { setIntegration(e.target.value); setAction(""); setInput({}); }}>
              <option value="">Choose…</option>
              {(integrations.data?.items ?? []).map((i) => <option key={i.id} value={i.id}>{i.name}</option>)}
            </select>
          </label>
          {detail.data && (
            <label>
              Action
              <select value={action} onChange={(e) => { setAction(e.target.value); setInput({}); }}>
                <option value="">Choose…</option>
                {detail.data.actions.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
              </select>
            </label>
          )}
          {chosen && <SchemaForm schema={chosen.inputSchema as JsonSchema} value={input} onChange={setInput} idPrefix="input" />}
        </>
      )}
      <button type="button" disabled={!valid}
        onClick={() => {
          onAdd(type === "action" ? { id, type, action: chosen!.id, input } : skeleton(type, id));
          setId("");
        }}>
        Add {type} step
      </button>
    </fieldset>
  );
}

function StepResults({ run }: { run: ExecutionDetail }) {
  return (
    <div role="status" className="results">
      <p>
        Run <Link to={`../../runs/${run.id}`} relative="path">{run.id.slice(0, 8)}</Link> <Status value={run.status} />
      </p>
      <ul className="steps">
        {run.stepExecutions.map((s) => (
          <li key={s.id} className={`step step-${s.status.toLowerCase()}`}>
            <strong>{s.stepId}</strong> <Status value={s.status} />
            {s.error ? <pre className="error-box">{s.error}</pre> : <pre tabIndex={0}>{pretty(s.output)}</pre>}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Runs the saved draft with a payload (steps pinned by their outputs are not called), or one step. */
function TryIt({ workspaceId, workflowId, steps }: { workspaceId: string; workflowId: string; steps: Step[] }) {
  const path = { workspace_id: workspaceId, workflow_id: workflowId };
  const [payload, setPayload] = useState("{}");
  const [pinned, setPinned] = useState("{}");
  const [stepId, setStepId] = useState("");
  const [context, setContext] = useState('{"trigger": {}, "steps": {}}');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [run, setRun] = useState<ExecutionDetail | null>(null);
  const parse = (text: string, field: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(422, { detail: `${field} is not JSON` });
    }
  };
  const runDraft = useMutation({
    mutationFn: async () => {
      const body = { payload: parse(payload, "the payload"), pinnedOutputs: parse(pinned, "the pinned outputs") };
      return (await must(api.POST("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}/run", {
        params: { path, query: { draft: true, wait: true } }, body: body as never,
      }))) as ExecutionDetail;
    },
    onSuccess: (data) => { setProblem(null); setRun(data); },
    onError: (error) => setProblem(problemOf(error)),
  });
  const testStep = useMutation({
    mutationFn: async () =>
      must(api.POST("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}/steps/{step_id}/test", {
        params: { path: { ...path, step_id: stepId } }, body: { context: parse(context, "the context") } as never,
      })),
    onSuccess: (data) => { setProblem(null); setRun(data); },
    onError: (error) => setProblem(problemOf(error)),
  });
  return (
    <section className="try-it">
      <h2>Try the saved draft</h2>
      <div className="editor">
        <div>
          <label htmlFor="payload">Payload (what the steps read as <code>trigger</code>)</label>
          <textarea id="payload" className="code" rows={4} value={payload} onChange={(e) => setPayload(e.target.value)} />
          <label htmlFor="pinned">Pinned outputs (<code>{"{stepId: output}"}</code>: those steps are not called)</label>
          <textarea id="pinned" className="code" rows={3} value={pinned} onChange={(e) => setPinned(e.target.value)} />
          <div className="actions">
            <button type="button" disabled={runDraft.isPending} onClick={() => runDraft.mutate()}>Run the draft</button>
          </div>
        </div>
        <div>
          <label>
            Step to test alone
            <select value={stepId} onChange={(e) => setStepId(e.target.value)}>
              <option value="">Choose…</option>
              {steps.map((s) => <option key={s.id}>{s.id}</option>)}
            </select>
          </label>
          <label htmlFor="context">What it reads (<code>trigger</code>, <code>steps</code>, <code>vars</code>)</label>
          <textarea id="context" className="code" rows={4} value={context} onChange={(e) => setContext(e.target.value)} />
          <div className="actions">
            <button type="button" disabled={!stepId || testStep.isPending} onClick={() => testStep.mutate()}>Test the step</button>
          </div>
        </div>
      </div>
      {problem && <p role="alert">{problem.path ? `${problem.path}: ` : ""}{problem.detail}</p>}
      {run && <StepResults run={run} />}
    </section>
  );
}

/** Publish the saved draft with a message; the versions, each with its diff against the draft, and restore. */
function Publish(props: { workspaceId: string; workflowId: string; draftText: string; onRestored: (w: Schemas["WorkflowOut"]) => void }) {
  const { workspaceId, workflowId, draftText, onRestored } = props;
  const queries = useQueryClient();
  const path = { workspace_id: workspaceId, workflow_id: workflowId };
  const [message, setMessage] = useState("");
  const [shown, setShown] = useState<number | null>(null);
  const versions = useQuery({
    queryKey: ["versions", workspaceId, workflowId],
    queryFn: () => must(api.GET("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}/versions", { params: { path } })),
  });
  const publish = useMutation({
    mutationFn: () =>
      must(api.POST("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}/publish", {
        params: { path }, body: { changeDescription: message || null } as never,
      })),
    onSuccess: () => {
      setMessage("");
      void queries.invalidateQueries({ queryKey: ["versions", workspaceId, workflowId] });
      void queries.invalidateQueries({ queryKey: ["workflow", workspaceId, workflowId] });
    },
  });
  const restore = useMutation({
    mutationFn: async (version: number) => {
      await must(api.POST("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}/versions/{version}/restore", {
        params: { path: { ...path, version } },
      }));
      return must(api.GET("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}", { params: { path } }));
    },
    onSuccess: (data) => {
      queries.setQueryData(["workflow", workspaceId, workflowId], data);
      onRestored(data);
    },
  });
  const items = (versions.data?.items ?? []) as Schemas["VersionOut"][];
  return (
    <section className="publish">
      <h2>Publish</h2>
      <div className="actions">
        <label>
          What changed
          <input value={message} onChange={(e) => setMessage(e.target.value)} placeholder="Greets in French too" />
        </label>
        <button type="button" disabled={publish.isPending} onClick={() => publish.mutate()}>Publish the saved draft</button>
        {publish.isSuccess && <span role="status">Published version {publish.data.version}</span>}
        {publish.error && <span role="alert">{publish.error.message}</span>}
      </div>
      <h2>Versions</h2>
      {items.length === 0 && <p>Not published yet.</p>}
      <ul className="versions">
        {items.map((v) => (
          <li key={v.version}>
            <strong>Version {v.version}</strong> · {when(v.createdAt)} {v.changeDescription && `· ${v.changeDescription}`}{" "}
            <button type="button" onClick={() => setShown(shown === v.version ? null : v.version)}>
              {shown === v.version ? "Hide the diff" : "Diff with the draft"}
            </button>{" "}
            <button type="button" onClick={() => restore.mutate(v.version)}>Restore as the draft</button>
            {shown === v.version && <Diff before={versionText(v)} after={draftText} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function versionText(v: Schemas["VersionOut"]): string {
  return JSON.stringify({ name: v.name, triggerType: v.triggerType, triggerConfig: v.triggerConfig, steps: v.steps }, null, 2);
}

function Diff({ before, after }: { before: string; after: string }) {
  const lines = lineDiff(before, after);
  if (lines.every((l) => l.kind === "same")) return <p>The draft is this version.</p>;
  return (
    <pre className="diff" tabIndex={0} aria-label="Changes from this version to the draft">
      {lines.map((l, i) => (
        <span key={i} className={`diff-${l.kind}`}>
          {l.kind === "added" ? "+ " : l.kind === "removed" ? "- " : "  "}
          {l.text}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}
