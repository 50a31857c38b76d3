// The workspaces the user belongs to; one click opens its runs.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, must } from "../api/client";

export function Workspaces() {
  const workspaces = useQuery({ queryKey: ["workspaces"], queryFn: () => must(api.GET("/api/v1/workspaces")) });
  return (
    <section>
      <h1>Workspaces</h1>
      {workspaces.isPending && <p>Loading…</p>}
      {workspaces.error && <p role="alert">{workspaces.error.message}</p>}
      {workspaces.data?.items.length === 0 && <p>You are not a member of any workspace yet.</p>}
      <ul className="cards">
        {workspaces.data?.items.map((workspace) => (
          <li key={workspace.id}>
            <Link to={`/w/${workspace.id}/runs`}>
              <strong>{workspace.name}</strong>
              <span>
                {workspace.role.toLowerCase()} · {workspace.plan.toLowerCase()}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
