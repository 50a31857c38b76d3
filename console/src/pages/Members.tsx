// The workspace's members and their roles: one added by the email they signed up with, a role changed, a
// member removed (the API refuses what the caller's own role does not allow, and the last owner leaving).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { api, must, type Schemas } from "../api/client";
import { when } from "../format";
import { TableHead } from "../TableHead";

type Role = Schemas["WorkspaceRole"];
const ROLES: Role[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];
const roleOptions = ROLES.map((role) => (
  <option key={role} value={role}>
    {role.toLowerCase()}
  </option>
));

function Member({ member, workspaceId }: { member: Schemas["MemberOut"]; workspaceId: string }) {
  const queries = useQueryClient();
  const path = { workspace_id: workspaceId, user_id: member.userId };
  const refresh = () => queries.invalidateQueries({ queryKey: ["members", workspaceId] });
  const change = useMutation({
    mutationFn: (role: Role) =>
      must(api.PATCH("/api/v1/workspaces/{workspace_id}/members/{user_id}", { params: { path }, body: { role } })),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => must(api.DELETE("/api/v1/workspaces/{workspace_id}/members/{user_id}", { params: { path } })),
    onSuccess: refresh,
  });
  const who = member.email ?? `${member.firstName} ${member.lastName}`.trim();
  return (
    <tr>
      <td>{who}</td>
      <td>
        <select aria-label={`Role of ${who}`} value={member.role} disabled={change.isPending} onChange={(e) => change.mutate(e.target.value as Role)}>
          {roleOptions}
        </select>
      </td>
      <td>{when(member.createdAt)}</td>
      <td>
        <button
          type="button"
          className="danger"
          disabled={remove.isPending}
          onClick={() => window.confirm(`Remove ${who}?`) && remove.mutate()}
        >
          Remove {who}
        </button>
        {(change.error ?? remove.error) && <span role="alert"> {(change.error ?? remove.error)?.message}</span>}
      </td>
    </tr>
  );
}

export default function Members() {
  const workspaceId = useParams().workspaceId!;
  const queries = useQueryClient();
  const members = useQuery({
    queryKey: ["members", workspaceId],
    queryFn: () => must(api.GET("/api/v1/workspaces/{workspace_id}/members", { params: { path: { workspace_id: workspaceId } } })),
  });
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("MEMBER");
  const add = useMutation({
    mutationFn: () =>
      must(api.POST("/api/v1/workspaces/{workspace_id}/members", { params: { path: { workspace_id: workspaceId } }, body: { email, role } })),
    onSuccess: () => {
      setEmail("");
      return queries.invalidateQueries({ queryKey: ["members", workspaceId] });
    },
  });
  return (
    <section>
      <h1>Members</h1>
      {members.error && <p role="alert">{members.error.message}</p>}
      <table className="table">
        <TableHead columns={["Member", "Role", "Since", "Remove"]} />
        <tbody>
          {members.data?.items.map((m) => (
            <Member key={m.userId} member={m} workspaceId={workspaceId} />
          ))}
        </tbody>
      </table>
      <form
        className="new-member"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <h2>Add a member</h2>
        <label>
          Email (of someone signed up)
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roleOptions}
          </select>
        </label>
        <button type="submit" disabled={add.isPending}>
          Add the member
        </button>
        {add.error && <p role="alert">{add.error.message}</p>}
      </form>
    </section>
  );
}
