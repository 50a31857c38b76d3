// The frame of the signed-in pages: the workspace's navigation and sign-out.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { NavLink, Outlet, useNavigate, useParams } from "react-router-dom";
import { api, must } from "./api/client";

export function Layout() {
  const { workspaceId } = useParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const me = useQuery({ queryKey: ["me"], queryFn: () => must(api.GET("/api/v1/me")) });
  const signOut = useMutation({
    mutationFn: () => must(api.DELETE("/api/v1/auth/session")),
    onSettled: () => {
      queries.clear();
      navigate("/sign-in");
    },
  });
  return (
    <div className="frame">
      <header className="top">
        <NavLink to="/" className="brand">
          Baton
        </NavLink>
        {workspaceId && (
          <nav aria-label="Workspace">
            <NavLink to={`/w/${workspaceId}/runs`}>Runs</NavLink>
            <NavLink to={`/w/${workspaceId}/approvals`}>Approvals</NavLink>
            <NavLink to={`/w/${workspaceId}/workflows`}>Workflows</NavLink>
            <NavLink to={`/w/${workspaceId}/connections`}>Connections</NavLink>
            <NavLink to={`/w/${workspaceId}/webhooks`}>Webhooks</NavLink>
            <NavLink to={`/w/${workspaceId}/members`}>Members</NavLink>
            <NavLink to={`/w/${workspaceId}/audit`}>Audit log</NavLink>
            <NavLink to={`/w/${workspaceId}/api-keys`}>API keys</NavLink>
          </nav>
        )}
        <div className="who">
          {me.data && <span>{me.data.email}</span>}
          <button type="button" onClick={() => signOut.mutate()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </div>
  );
}
