// The workspace's webhooks: the address each workflow is started by (copied with a button), its calls, and
// its signing secret (a new Standard Webhooks secret shown once, or the sender's own set in its scheme).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, must, type Schemas } from "../api/client";
import { when } from "../format";

type Webhook = Schemas["WebhookOut"];
const SCHEMES = ["github", "stripe", "slack", "standard"] as const;

function Secret({ webhook, workspaceId }: { webhook: Webhook; workspaceId: string }) {
  const queries = useQueryClient();
  const [scheme, setScheme] = useState<(typeof SCHEMES)[number]>("github");
  const [secret, setSecret] = useState("");
  const path = { workspace_id: workspaceId, webhook_id: webhook.id };
  const refresh = () => queries.invalidateQueries({ queryKey: ["webhooks", workspaceId] });
  const rotate = useMutation({
    mutationFn: () => must(api.POST("/api/v1/workspaces/{workspace_id}/webhooks/{webhook_id}/rotate-secret", { params: { path } })),
    onSuccess: refresh,
  });
  const set = useMutation({
    mutationFn: () =>
      must(api.PUT("/api/v1/workspaces/{workspace_id}/webhooks/{webhook_id}/secret", { params: { path }, body: { scheme, secret } })),
    onSuccess: () => {
      setSecret("");
      return refresh();
    },
  });
  const id = `secret-${webhook.id}`;
  return (
    <div className="webhook-secret">
      <button type="button" disabled={rotate.isPending} onClick={() => rotate.mutate()}>
        New signing secret for {webhook.workflowName}
      </button>
      {rotate.data && (
        <p className="once" role="status">
          Copy it now, it is not shown again: <code>{rotate.data.secret}</code>
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          set.mutate();
        }}
      >
        <label>
          Sender's scheme
          <select value={scheme} onChange={(e) => setScheme(e.target.value as typeof scheme)}>
            {SCHEMES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label htmlFor={id}>Sender's secret</label>
        <input id={id} type="password" autoComplete="off" minLength={8} required value={secret} onChange={(e) => setSecret(e.target.value)} />
        <button type="submit" disabled={set.isPending}>
          Set the secret
        </button>
      </form>
      {set.data && <p role="status">Calls are now checked by {set.data.signatureHeader}.</p>}
      {(rotate.error ?? set.error) && <p role="alert">{(rotate.error ?? set.error)?.message}</p>}
    </div>
  );
}

function Copy({ text }: { text: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setCopied("Copied"),
      (e: unknown) => setCopied(`Not copied (${e instanceof Error ? e.message : "no clipboard"}): select it`),
    );
  return (
    <>
      <button type="button" onClick={copy}>
        Copy the URL
      </button>
      {copied && <span role="status"> {copied}</span>}
    </>
  );
}

export default function Webhooks() {
  const workspaceId = useParams().workspaceId!;
  const webhooks = useQuery({
    queryKey: ["webhooks", workspaceId],
    queryFn: () => must(api.GET("/api/v1/workspaces/{workspace_id}/webhooks", { params: { path: { workspace_id: workspaceId } } })),
  });
  return (
    <section>
      <h1>Webhooks</h1>
      {webhooks.error && <p role="alert">{webhooks.error.message}</p>}
      {webhooks.data?.items.length === 0 && <p>No workflow is started by a webhook.</p>}
      <ul className="webhooks">
        {webhooks.data?.items.map((w) => (
          <li key={w.id} className="webhook">
            <h2>
              <Link to={`/w/${workspaceId}/workflows/${w.workflowId}`}>{w.workflowName}</Link>
            </h2>
            {w.url ? (
              <p>
                <code className="url">{w.url}</code> <Copy text={w.url} />
              </p>
            ) : (
              <p className="muted">Its URL is shown to editors.</p>
            )}
            <p className="muted">
              {w.isActive ? "active" : "inactive"} · {w.hasSecret ? `signed (${w.signatureScheme})` : "unsigned"} ·{" "}
              {w.totalCalls} calls{w.lastCalledAt && `, the last ${when(w.lastCalledAt)}`}
            </p>
            {w.url && <Secret webhook={w} workspaceId={workspaceId} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
