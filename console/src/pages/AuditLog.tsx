// The workspace's audit log (ADMIN and OWNER): who changed what, newest first, filtered by entity type,
// action and member as the API filters; older entries page in by its cursor.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { api, must } from "../api/client";
import { when } from "../format";
import { TableHead } from "../TableHead";

export default function AuditLog() {
  const workspaceId = useParams().workspaceId!;
  const [entityType, setEntityType] = useState("");
  const [action, setAction] = useState("");
  const [userId, setUserId] = useState("");
  const path = { workspace_id: workspaceId };
  const members = useQuery({
    queryKey: ["members", workspaceId],
    queryFn: () => must(api.GET("/api/v1/workspaces/{workspace_id}/members", { params: { path } })),
  });
  const emails = new Map(members.data?.items.map((m) => [m.userId, m.email ?? m.userId]));
  const filters = { entityType: entityType || undefined, action: action || undefined, userId: userId || undefined };
  const entries = useInfiniteQuery({
    queryKey: ["audit", workspaceId, filters],
    queryFn: ({ pageParam }) =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/audit-logs", {
          params: { path, query: { ...filters, cursor: pageParam ?? undefined } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? null,
  });
  const rows = entries.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>Audit log</h1>
      <div className="filters">
        <label>
          Entity type
          <input value={entityType} onChange={(e) => setEntityType(e.target.value.trim())} placeholder="connection" />
        </label>
        <label>
          Action
          <input value={action} onChange={(e) => setAction(e.target.value.trim())} placeholder="connection.created" />
        </label>
        <label>
          Member
          <select value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">anyone</option>
            {[...emails].map(([id, email]) => (
              <option key={id} value={id}>
                {email}
              </option>
            ))}
          </select>
        </label>
      </div>
      {entries.error && <p role="alert">{entries.error.message}</p>}
      <table className="table">
        <TableHead columns={["When", "Who", "Action", "Entity", "From"]} />
        <tbody>
          {rows.map((entry) => (
            <tr key={entry.id}>
              <td>{when(entry.createdAt)}</td>
              <td>{entry.userId ? (emails.get(entry.userId) ?? entry.userId) : "Baton"}</td>
              <td>{entry.action}</td>
              <td>
                {entry.entityType}
                {entry.entityId && <span className="muted"> {entry.entityId}</span>}
              </td>
              <td>{entry.ipAddress ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.data && rows.length === 0 && <p>No entry matches.</p>}
      {entries.hasNextPage && (
        <button type="button" disabled={entries.isFetchingNextPage} onClick={() => entries.fetchNextPage()}>
          Older entries
        </button>
      )}
    </section>
  );
}
