// The workspace's workflows by id: runs carry a workflow id, the console shows its name and trigger.
import { useQuery } from "@tanstack/react-query";
import { api, must, type Workflow } from "./api/client";

export function useWorkflows(workspaceId: string) {
  return useQuery({
    queryKey: ["workflows", workspaceId],
    queryFn: async () => {
      const page = await must(
        api.GET("/api/v1/workspaces/{workspace_id}/workflows", {
          params: { path: { workspace_id: workspaceId }, query: { limit: 200 } },
        }),
      );
      return new Map<string, Workflow>(page.items.map((workflow) => [workflow.id, workflow]));
    },
    staleTime: 30_000,
  });
}
