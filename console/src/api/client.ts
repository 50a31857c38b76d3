// The API client: typed by schema.d.ts (generated from console/openapi.json by `npm run schema`, which the
// build runs; `python -m api.openapi_document` writes that file from the app). The session cookie rides
// along on its own; requests that change something send the CSRF token the API set in the readable
// `baton_csrf` cookie (see docs/console.md).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Execution = Schemas["ExecutionOut"];
export type ExecutionDetail = Schemas["ExecutionDetail"];
export type StepExecution = Schemas["StepExecutionOut"];
export type Workflow = Schemas["WorkflowOut"];
export type Workspace = Schemas["WorkspaceOut"];
export type Approval = Schemas["ApprovalOut"];
export type ExecutionStatus = Schemas["ExecutionStatus"];

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function csrfToken(): string {
  const found = document.cookie.split("; ").find((part) => part.startsWith("baton_csrf="));
  return found ? decodeURIComponent(found.slice("baton_csrf=".length)) : "";
}

/** An error answer of the API: `{error, detail, path}` (STYLE.md), with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; detail?: unknown } | undefined,
  ) {
    super(typeof body?.detail === "string" ? body.detail : `the API answered ${status}`);
  }
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method)) request.headers.set("X-CSRF-Token", csrfToken());
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);

/** The data of an openapi-fetch answer, or an ApiError thrown (for TanStack Query). */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error as ApiError["body"]);
  return data as T;
}
