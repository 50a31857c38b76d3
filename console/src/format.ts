// How times, durations and values read in the console.
export function duration(ms: number | null | undefined): string {
  if (ms == null) return "—";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function pretty(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

export const ENDED = new Set(["SUCCESS", "FAILED", "CANCELLED", "TIMEOUT"]);

/** The trigger that started a run (its context says, since the workflow's trigger may have changed). */
export function triggerOf(context: Record<string, unknown>, workflowTrigger: string | undefined): string {
  const trigger = typeof context.triggerType === "string" ? context.triggerType : workflowTrigger;
  return trigger ? trigger.toLowerCase() : "—";
}
