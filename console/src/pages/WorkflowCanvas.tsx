// A workflow's definition on a read-only canvas (@xyflow/react), laid out by elkjs. Loaded on demand:
// the canvas and the layout engine stay out of the console's first load.
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import { Background, Controls, type Edge, type Node, ReactFlow } from "@xyflow/react";
import ELK from "elkjs/lib/elk.bundled.js";
import { Link, useParams } from "react-router-dom";
import { api, must } from "../api/client";
import { definitionGraph, type StepLike } from "../graph";

const WIDTH = 200;
const HEIGHT = 56;
const elk = new ELK();

async function layout(triggerType: string, steps: StepLike[]): Promise<{ nodes: Node[]; edges: Edge[] }> {
  const graph = definitionGraph(triggerType, steps);
  const placed = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.spacing.nodeNode": "40",
      "elk.layered.spacing.nodeNodeBetweenLayers": "50",
    },
    children: graph.nodes.map((n) => ({ id: n.id, width: WIDTH, height: HEIGHT })),
    edges: graph.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const where = new Map((placed.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
  return {
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      position: where.get(n.id) ?? { x: 0, y: 0 },
      data: {
        label: (
          <div className="node-label">
            <strong>{n.label}</strong>
            <span>{n.detail}</span>
          </div>
        ),
      },
      className: `node node-${n.kind}`,
      style: { width: WIDTH, height: HEIGHT },
      draggable: false,
      connectable: false,
    })),
    edges: graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, label: e.label })),
  };
}

export default function WorkflowCanvas() {
  const { workspaceId, workflowId } = useParams() as { workspaceId: string; workflowId: string };
  const workflow = useQuery({
    queryKey: ["workflow", workspaceId, workflowId],
    queryFn: () =>
      must(
        api.GET("/api/v1/workspaces/{workspace_id}/workflows/{workflow_id}", {
          params: { path: { workspace_id: workspaceId, workflow_id: workflowId } },
        }),
      ),
  });
  const drawn = useQuery({
    queryKey: ["workflow-layout", workspaceId, workflowId, workflow.data?.updatedAt],
    queryFn: () => layout(workflow.data!.triggerType, workflow.data!.steps as StepLike[]),
    enabled: !!workflow.data,
  });
  if (workflow.error) return <p role="alert">{workflow.error.message}</p>;
  return (
    <section className="canvas-page">
      <p>
        <Link to={`/w/${workspaceId}/workflows`}>← Workflows</Link> ·{" "}
        <Link to={`/w/${workspaceId}/runs?workflow=${workflowId}`}>its runs</Link> ·{" "}
        <Link to={`/w/${workspaceId}/workflows/${workflowId}/edit`}>Edit</Link>
      </p>
      <h1>{workflow.data?.name ?? "Workflow"}</h1>
      <p className="muted">
        {workflow.data && `version ${workflow.data.version} · ${workflow.data.isDraft ? "draft" : "published"} · read-only`}
      </p>
      <div className="canvas" aria-label="The workflow's steps" role="region">
        {drawn.data && (
          <ReactFlow
            nodes={drawn.data.nodes}
            edges={drawn.data.edges}
            fitView
            nodesDraggable={false}
            nodesConnectable={false}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        )}
      </div>
    </section>
  );
}
