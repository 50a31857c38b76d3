// Your API keys (they act as you, within their scopes): listed by name and prefix, made with a name and
// scopes (the key shown once), revoked.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../api/client";
import { when } from "../format";
import { TableHead } from "../TableHead";

// core/permissions.py's API_KEY_SCOPES
const SCOPES = [
  "workflows:read", "workflows:write", "executions:read", "executions:write", "connections:read",
  "connections:write", "workspaces:admin", "data:read", "data:write",
]; // prettier-ignore

export default function ApiKeys() {
  const queries = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => must(api.GET("/api/v1/me/api-keys")) });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const refresh = () => queries.invalidateQueries({ queryKey: ["api-keys"] });
  const create = useMutation({
    mutationFn: () => must(api.POST("/api/v1/me/api-keys", { body: { name, scopes } })),
    onSuccess: () => {
      setName("");
      setScopes([]);
      return refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) => must(api.DELETE("/api/v1/me/api-keys/{key_id}", { params: { path: { key_id: keyId } } })),
    onSuccess: refresh,
  });
  return (
    <section>
      <h1>API keys</h1>
      {keys.error && <p role="alert">{keys.error.message}</p>}
      <table className="table">
        <TableHead columns={["Name", "Prefix", "Scopes", "Created", "Last used", "Revoke"]} />
        <tbody>
          {keys.data?.items.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}…</code>
              </td>
              <td>{key.scopes.join(", ")}</td>
              <td>{when(key.createdAt)}</td>
              <td>{when(key.lastUsedAt)}</td>
              <td>
                <button
                  type="button"
                  className="danger"
                  disabled={revoke.isPending}
                  onClick={() => window.confirm(`Revoke ${key.name}?`) && revoke.mutate(key.id)}
                >
                  Revoke {key.name}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {keys.data?.items.length === 0 && <p>No API key yet.</p>}
      {revoke.error && <p role="alert">{revoke.error.message}</p>}
      <form
        className="new-key"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2>New API key</h2>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                value={scope}
                checked={scopes.includes(scope)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={create.isPending || scopes.length === 0}>
          Create the key
        </button>
        {create.data && (
          <p className="once" role="status">
            Copy it now, it is not shown again: <code>{create.data.key}</code>
          </p>
        )}
        {create.error && <p role="alert">{create.error.message}</p>}
      </form>
    </section>
  );
}
