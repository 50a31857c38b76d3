// The workspace's workflows: searchable by name and tag, with their trigger, state, version and runs;
// each opens on its canvas.
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { when } from "../format";
import { useWorkflows } from "../workflows";

export function Workflows() {
  const workspaceId = useParams().workspaceId!;
  const workflows = useWorkflows(workspaceId);
  const [search, setSearch] = useState("");
  const needle = search.trim().toLowerCase();
  const shown = [...(workflows.data?.values() ?? [])].filter(
    (w) => !needle || w.name.toLowerCase().includes(needle) || w.tags.some((t) => t.toLowerCase().includes(needle)),
  );
  return (
    <section>
      <h1>Workflows</h1>
      <div className="filters">
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name or tag" />
        </label>
      </div>
      {workflows.error && <p role="alert">{workflows.error.message}</p>}
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Trigger</th>
            <th scope="col">State</th>
            <th scope="col">Version</th>
            <th scope="col">Runs (failed)</th>
            <th scope="col">Last run</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((w) => (
            <tr key={w.id}>
              <td>
                <Link to={`/w/${workspaceId}/workflows/${w.id}`}>{w.name}</Link>
                {w.tags.map((tag) => (
                  <span key={tag} className="tag">
                    {tag}
                  </span>
                ))}
              </td>
              <td>{w.triggerType.toLowerCase()}</td>
              <td>{w.isDraft ? "draft" : w.isActive ? "active" : "inactive"}</td>
              <td>{w.version}</td>
              <td>
                {w.totalExecutions} ({w.failedExecutions})
              </td>
              <td>{when(w.lastExecutedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {workflows.data && shown.length === 0 && <p>No workflow matches.</p>}
    </section>
  );
}
