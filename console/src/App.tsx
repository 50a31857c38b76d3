// The console's routes; api/console.py serves the page on each of them (keep both lists in step).
import { QueryCache, useQueryClient } from "@tanstack/react-query";
import { type ComponentType, lazy, Suspense, useEffect } from "react";
import { Navigate, Route, Routes, useNavigate } from "react-router-dom";
import { ApiError } from "./api/client";
import { Layout } from "./Layout";
import { Approvals } from "./pages/Approvals";
import { RunView } from "./pages/RunView";
import { Runs } from "./pages/Runs";
import { SignIn } from "./pages/SignIn";
import { Workflows } from "./pages/Workflows";
import { Workspaces } from "./pages/Workspaces";

// The canvas (React Flow and the ELK layout engine) loads when first opened, not with the console.
const WorkflowCanvas = lazy(() => import("./pages/WorkflowCanvas"));
// So does the editor (its forms, diff and the catalogue it reads).
const WorkflowEditor = lazy(() => import("./pages/WorkflowEditor"));
// The workspace's settings pages, each loaded when first opened.
const Connections = lazy(() => import("./pages/Connections"));
const Webhooks = lazy(() => import("./pages/Webhooks"));
const ApiKeys = lazy(() => import("./pages/ApiKeys"));
const Members = lazy(() => import("./pages/Members"));
const AuditLog = lazy(() => import("./pages/AuditLog"));

/** A page loaded on demand, with a line while it loads. */
function OnDemand({ page: Page, what }: { page: ComponentType; what: string }) {
  return (
    <Suspense fallback={<p>Loading {what}…</p>}>
      <Page />
    </Suspense>
  );
}

/** Any 401 (no session, or it ended) sends the user to the sign-in page. */
function SignInWhenUnauthenticated() {
  const cache: QueryCache = useQueryClient().getQueryCache();
  const navigate = useNavigate();
  useEffect(
    () =>
      cache.subscribe((event) => {
        const error = event.query.state.error;
        if (error instanceof ApiError && error.status === 401) navigate("/sign-in");
      }),
    [cache, navigate],
  );
  return null;
}

export function App() {
  return (
    <>
      <SignInWhenUnauthenticated />
      <Routes>
        <Route path="/sign-in" element={<SignIn />} />
        <Route element={<Layout />}>
          <Route path="/" element={<Workspaces />} />
          <Route path="/w/:workspaceId" element={<Navigate to="runs" replace />} />
          <Route path="/w/:workspaceId/runs" element={<Runs />} />
          <Route path="/w/:workspaceId/runs/:executionId" element={<RunView />} />
          <Route path="/w/:workspaceId/approvals" element={<Approvals />} />
          <Route path="/w/:workspaceId/workflows" element={<Workflows />} />
          <Route
            path="/w/:workspaceId/workflows/:workflowId"
            element={
              <Suspense fallback={<p>Loading the canvas…</p>}>
                <WorkflowCanvas />
              </Suspense>
            }
          />
          <Route
            path="/w/:workspaceId/workflows/:workflowId/edit"
            element={
              <Suspense fallback={<p>Loading the editor…</p>}>
                <WorkflowEditor />
              </Suspense>
            }
          />
          <Route path="/w/:workspaceId/connections" element={<OnDemand page={Connections} what="the connections" />} />
          <Route path="/w/:workspaceId/webhooks" element={<OnDemand page={Webhooks} what="the webhooks" />} />
          <Route path="/w/:workspaceId/members" element={<OnDemand page={Members} what="the members" />} />
          <Route path="/w/:workspaceId/audit" element={<OnDemand page={AuditLog} what="the audit log" />} />
          <Route path="/w/:workspaceId/api-keys" element={<OnDemand page={ApiKeys} what="your API keys" />} />
        </Route>
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </>
  );
}
