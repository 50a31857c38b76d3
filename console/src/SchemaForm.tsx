// A form made from a JSON Schema (an action's input): a field per property, typed inputs for strings,
// numbers, booleans and enums, JSON text for the rest. Every text field takes expressions
// (`{{ trigger.body.email }}`), so a number field is text too when it holds one.
import { useState } from "react";

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  anyOf?: JsonSchema[];
};

function kindOf(schema: JsonSchema): string {
  if (schema.enum) return "enum";
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const plain = types.filter((t) => t !== "null");
  if (plain.length === 0 && schema.anyOf) {
    const found = schema.anyOf.map((s) => s.type).filter((t) => t && t !== "null");
    if (found.length === 1) return String(found[0]);
  }
  return plain.length === 1 ? plain[0] : "json";
}

function JsonField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea id={id} className="code" rows={2} value={text} aria-invalid={bad}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) return onChange(undefined);
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }} />
      {bad && <span className="error">Not JSON (an expression goes in quotes)</span>}
    </>
  );
}

export function SchemaForm(props: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  idPrefix: string;
}) {
  const { schema, value, onChange, idPrefix } = props;
  const required = new Set(schema.required ?? []);
  const set = (name: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined || v === "") delete next[name];
    else next[name] = v;
    onChange(next);
  };
  return (
    <div className="schema-form">
      {Object.entries(schema.properties ?? {}).map(([name, field]) => {
        const id = `${idPrefix}-${name}`;
        const kind = kindOf(field);
        const current = value[name];
        const label = `${field.title ?? name}${required.has(name) ? " *" : ""}`;
        return (
          <div key={name} className="schema-field">
            {kind === "boolean" ? (
              <label>
                <input id={id} type="checkbox" checked={current === true} onChange={(e) => set(name, e.target.checked)} /> {label}
              </label>
            ) : (
              <label htmlFor={id}>{label}</label>
            )}
            {kind === "enum" && (
              <select id={id} value={current === undefined ? "" : String(current)} onChange={(e) => set(name, e.target.value || undefined)}>
                <option value="">(default)</option>
                {(field.enum ?? []).map((o) => <option key={String(o)}>{String(o)}</option>)}
              </select>
            )}
            {(kind === "string" || kind === "number" || kind === "integer") && (
              <input id={id} value={current === undefined ? "" : String(current)}
                placeholder={field.default !== undefined ? `default: ${String(field.default)}` : undefined}
                onChange={(e) => {
                  const text = e.target.value;
                  const numeric = kind !== "string" && text.trim() !== "" && !Number.isNaN(Number(text));
                  set(name, numeric ? Number(text) : text);
                }} />
            )}
            {kind !== "boolean" && kind !== "enum" && kind !== "string" && kind !== "number" && kind !== "integer" && (
              <JsonField id={id} value={current} onChange={(v) => set(name, v)} />
            )}
            {field.description && <span className="muted help">{field.description}</span>}
          </div>
        );
      })}
    </div>
  );
}
