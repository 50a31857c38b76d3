// A definition's steps as a graph: a node per step, edges in run order, branches (condition, switch,
// parallel lanes) fanning out and joining at the next step, a loop's body hanging off the loop.
export type StepLike = { id: string; type: string; name?: string; action?: string; [key: string]: unknown };
export type GraphNode = { id: string; label: string; kind: string; detail?: string };
export type GraphEdge = { id: string; source: string; target: string; label?: string };
type Exit = { node: string; label?: string };

export function definitionGraph(triggerType: string, steps: StepLike[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes: GraphNode[] = [{ id: "__trigger", label: `trigger: ${triggerType.toLowerCase()}`, kind: "trigger" }];
  const edges: GraphEdge[] = [];

  const sequence = (list: StepLike[], entries: Exit[]): Exit[] => {
    let exits = entries;
    for (const step of list) exits = place(step, exits);
    return exits;
  };

  const branch = (node: string, label: string, list: unknown): Exit[] =>
    Array.isArray(list) && list.length ? sequence(list as StepLike[], [{ node, label }]) : [{ node, label }];

  const place = (step: StepLike, entries: Exit[]): Exit[] => {
    nodes.push({ id: step.id, label: step.name || step.id, kind: step.type, detail: step.action ?? step.type });
    for (const entry of entries) {
      edges.push({ id: `${entry.node}->${step.id}`, source: entry.node, target: step.id, label: entry.label });
    }
    switch (step.type) {
      case "condition":
        return [...branch(step.id, "then", step.then), ...branch(step.id, "else", step.else)];
      case "switch": {
        const cases = (step.cases ?? {}) as Record<string, unknown>;
        return [
          ...Object.entries(cases).flatMap(([value, list]) => branch(step.id, value, list)),
          ...branch(step.id, "default", step.default),
        ];
      }
      case "parallel":
        return ((step.branches ?? []) as unknown[]).flatMap((lane, i) => branch(step.id, `lane ${i + 1}`, lane));
      case "loop":
        branch(step.id, "each item", step.steps);
        return [{ node: step.id, label: "done" }];
      case "approval":
        if (Array.isArray(step.notify) && step.notify.length) branch(step.id, "notify", step.notify);
        return [{ node: step.id }];
      default:
        return [{ node: step.id }];
    }
  };

  sequence(steps, [{ node: "__trigger" }]);
  return { nodes, edges };
}
