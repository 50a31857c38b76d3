// The approvals inbox: approval steps runs wait on, decided here (approve or reject, with a comment).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, must, type Approval } from "../api/client";
import { when } from "../format";

function Decide({ approval, workspaceId }: { approval: Approval; workspaceId: string }) {
  const [comment, setComment] = useState("");
  const queries = useQueryClient();
  const decide = useMutation({
    mutationFn: (approved: boolean) =>
      must(
        api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/steps/{step_id}/decision", {
          params: {
            path: { workspace_id: workspaceId, execution_id: approval.executionId, step_id: approval.stepId },
          },
          body: { approved, comment: comment || null },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["approvals", workspaceId] }),
  });
  const id = `comment-${approval.executionId}-${approval.stepId}`;
  return (
    <li className="approval">
      <h2>{approval.workflowName}</h2>
      <p className="message">{approval.message ?? "Approve this step?"}</p>
      <p className="muted">
        Asked {when(approval.requestedAt)}
        {approval.expiresAt && ` · ${approval.defaultDecision ?? "decided"} by default at ${when(approval.expiresAt)}`} ·{" "}
        <Link to={`/w/${workspaceId}/runs/${approval.executionId}`}>the run</Link>
      </p>
      {approval.canDecide ? (
        <div className="decide">
          <label htmlFor={id}>Comment</label>
          <input id={id} value={comment} onChange={(e) => setComment(e.target.value)} />
          <button type="button" disabled={decide.isPending} onClick={() => decide.mutate(true)}>
            Approve
          </button>
          <button type="button" className="danger" disabled={decide.isPending} onClick={() => decide.mutate(false)}>
            Reject
          </button>
        </div>
      ) : (
        <p className="muted">You may not decide this one.</p>
      )}
      {decide.error && <p role="alert">{decide.error.message}</p>}
    </li>
  );
}

export function Approvals() {
  const workspaceId = useParams().workspaceId!;
  const approvals = useQuery({
    queryKey: ["approvals", workspaceId],
    queryFn: () =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/approvals", {
          params: { path: { workspace_id: workspaceId }, query: { status: "pending" } },
        }),
      ),
    refetchInterval: 5000,
  });
  return (
    <section>
      <h1>Approvals</h1>
      {approvals.error && <p role="alert">{approvals.error.message}</p>}
      {approvals.data?.items.length === 0 && <p>Nothing waits on you.</p>}
      <ul className="approvals">
        {approvals.data?.items.map((approval) => (
          <Decide key={`${approval.executionId}/${approval.stepId}`} approval={approval} workspaceId={workspaceId} />
        ))}
      </ul>
    </section>
  );
}
