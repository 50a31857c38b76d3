// Resume a failed run from a step of choice, with its trigger data edited: a new run that reuses what
// succeeded before that step (POST .../executions/{id}/resume).
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { api, must, type ExecutionDetail } from "../api/client";
import { pretty } from "../format";

export function ResumeForm({ run, workspaceId }: { run: ExecutionDetail; workspaceId: string }) {
  const stepIds = [...new Set(run.stepExecutions.map((step) => step.stepId))];
  const failed = run.stepExecutions.find((step) => step.status === "FAILED" || step.status === "TIMEOUT");
  const [fromStep, setFromStep] = useState(failed?.stepId ?? stepIds[0] ?? "");
  const [triggerData, setTriggerData] = useState(pretty(run.triggerData ?? {}));
  const [invalid, setInvalid] = useState<string | null>(null);
  const resume = useMutation({
    mutationFn: (trigger: unknown) =>
      must(
        api.POST("/api/v1/workspaces/{workspace_id}/executions/{execution_id}/resume", {
          params: { path: { workspace_id: workspaceId, execution_id: run.id } },
          body: { latestVersion: false, fromStep: fromStep || null, triggerData: trigger },
        }),
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let trigger: unknown;
    try {
      trigger = JSON.parse(triggerData);
    } catch (error) {
      setInvalid(`The trigger data is not JSON: ${(error as Error).message}`);
      return;
    }
    setInvalid(null);
    resume.mutate(trigger);
  };
  return (
    <details className="resume">
      <summary>Resume from a step…</summary>
      <form onSubmit={submit}>
        <label>
          From step
          <select value={fromStep} onChange={(e) => setFromStep(e.target.value)}>
            {stepIds.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trigger data (JSON)
          <textarea rows={6} value={triggerData} onChange={(e) => setTriggerData(e.target.value)} />
        </label>
        {invalid && <p role="alert">{invalid}</p>}
        {resume.error && <p role="alert">{resume.error.message}</p>}
        <button type="submit" disabled={resume.isPending}>
          Resume
        </button>
        {resume.data && (
          <p role="status">
            Resumed as <Link to={`/w/${workspaceId}/runs/${resume.data.id}`}>a new run</Link>.
          </p>
        )}
      </form>
    </details>
  );
}
