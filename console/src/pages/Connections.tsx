// The workspace's connections: listed with their integration and test status; made from an integration
// (its credentials asked by its auth type, write-only), tested, deleted; an OAuth2 integration connects
// through its provider's consent page instead.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { api, must, type Schemas } from "../api/client";
import { when } from "../format";
import { TableHead } from "../TableHead";

type Integration = Schemas["IntegrationOut"];
type Field = { name: string; value: string };

/** The credential fields an auth type usually takes (each integration names its own: they can be renamed). */
const FIELDS: Record<string, string[]> = { API_KEY: ["apiKey"], BASIC: ["username", "password"], NONE: [] };

function NewConnection({ workspaceId, integrations }: { workspaceId: string; integrations: Integration[] }) {
  const queries = useQueryClient();
  const [integrationId, setIntegrationId] = useState("");
  const [name, setName] = useState("");
  const [fields, setFields] = useState<Field[]>([]);
  const chosen = integrations.find((i) => i.id === integrationId);
  const choose = (id: string) => {
    setIntegrationId(id);
    const authType = integrations.find((i) => i.id === id)?.authType ?? "NONE";
    setFields((FIELDS[authType] ?? []).map((field) => ({ name: field, value: "" })));
  };
  const setField = (at: number, change: Partial<Field>) =>
    setFields(fields.map((field, i) => (i === at ? { ...field, ...change } : field)));
  const create = useMutation({
    mutationFn: () =>
      must(
        api.POST("/api/v1/workspaces/{workspace_id}/connections", {
          params: { path: { workspace_id: workspaceId } },
          body: {
            integrationId,
            name,
            credentials: Object.fromEntries(fields.filter((f) => f.name).map((f) => [f.name, f.value])),
          },
        }),
      ),
    onSuccess: () => {
      setName("");
      choose("");
      return queries.invalidateQueries({ queryKey: ["connections", workspaceId] });
    },
  });
  const authorize =
    chosen?.authType === "OAUTH2"
      ? `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/connections/oauth/${encodeURIComponent(chosen.id)}` +
        `/authorize?${new URLSearchParams(name ? { name } : {})}`
      : null;
  return (
    <form
      className="new-connection"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2>New connection</h2>
      <label>
        Integration
        <select value={integrationId} onChange={(e) => choose(e.target.value)} required>
          <option value="">Choose…</option>
          {integrations.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required={!authorize} maxLength={200} />
      </label>
      {authorize ? (
        <p>
          <a className="button" href={authorize}>
            Connect with {chosen?.name}
          </a>{" "}
          <span className="muted">opens its consent page; the connection is made when you come back</span>
        </p>
      ) : (
        <>
          {fields.map((field, at) => (
            <div key={at} className="credential">
              <label>
                Field
                <input value={field.name} onChange={(e) => setField(at, { name: e.target.value })} />
              </label>
              <label>
                Value
                <input
                  type="password"
                  autoComplete="off"
                  value={field.value}
                  onChange={(e) => setField(at, { value: e.target.value })}
                />
              </label>
            </div>
          ))}
          {chosen && (
            <button type="button" onClick={() => setFields([...fields, { name: "", value: "" }])}>
              Add a credential field
            </button>
          )}
          <button type="submit" disabled={!chosen || create.isPending}>
            Create the connection
          </button>
        </>
      )}
      {create.error && <p role="alert">{create.error.message}</p>}
    </form>
  );
}

function Row({ connection, workspaceId, integration }: { connection: Schemas["ConnectionOut"]; workspaceId: string; integration?: string }) {
  const queries = useQueryClient();
  const path = { workspace_id: workspaceId, connection_id: connection.id };
  const refresh = () => queries.invalidateQueries({ queryKey: ["connections", workspaceId] });
  const test = useMutation({
    mutationFn: () => must(api.POST("/api/v1/workspaces/{workspace_id}/connections/{connection_id}/test", { params: { path } })),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => must(api.DELETE("/api/v1/workspaces/{workspace_id}/connections/{connection_id}", { params: { path } })),
    onSuccess: refresh,
  });
  return (
    <tr>
      <td>{connection.name}</td>
      <td>{integration ?? connection.integrationId}</td>
      <td>{when(connection.createdAt)}</td>
      <td>
        {connection.testStatus.toLowerCase()}
        {test.data && (test.data.ok ? " · works" : ` · ${test.data.detail}`)}
        {test.error && <span role="alert"> · {test.error.message}</span>}
      </td>
      <td>
        <button type="button" disabled={test.isPending} onClick={() => test.mutate()}>
          Test {connection.name}
        </button>{" "}
        <button
          type="button"
          className="danger"
          disabled={remove.isPending}
          onClick={() => window.confirm(`Delete ${connection.name}?`) && remove.mutate()}
        >
          Delete {connection.name}
        </button>
        {remove.error && <span role="alert"> {remove.error.message}</span>}
      </td>
    </tr>
  );
}

export default function Connections() {
  const workspaceId = useParams().workspaceId!;
  const connections = useQuery({
    queryKey: ["connections", workspaceId],
    queryFn: () =>
      must(api.GET("/api/v1/workspaces/{workspace_id}/connections", { params: { path: { workspace_id: workspaceId } } })),
  });
  const integrations = useQuery({
    queryKey: ["integrations"],
    queryFn: () => must(api.GET("/api/v1/integrations")),
  });
  const names = new Map(integrations.data?.items.map((i) => [i.id, i.name]));
  return (
    <section>
      <h1>Connections</h1>
      {connections.error && <p role="alert">{connections.error.message}</p>}
      <table className="table">
        <TableHead columns={["Name", "Integration", "Created", "Test", "Actions"]} />
        <tbody>
          {connections.data?.items.map((c) => (
            <Row key={c.id} connection={c} workspaceId={workspaceId} integration={names.get(c.integrationId)} />
          ))}
        </tbody>
      </table>
      {connections.data?.items.length === 0 && <p>No connection yet.</p>}
      <NewConnection workspaceId={workspaceId} integrations={integrations.data?.items ?? []} />
    </section>
  );
}
