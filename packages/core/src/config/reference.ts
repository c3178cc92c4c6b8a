/**
 * Renders the configuration reference (every key, its type, default, range and description)
 * from the zod schema itself, so the documentation cannot drift from the validation.
 */
import { z } from "zod";
import { configSchema } from "./schema";

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  required?: string[];
}

interface Row {
  path: string;
  type: string;
  def: string;
  range: string;
  description: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return variants.map(typeOf).join(" \\| ");
  if (s.type === "array") return `${s.items ? typeOf(s.items) : "unknown"}[]`;
  if (s.type === "object" && !s.properties && typeof s.additionalProperties === "object")
    return `map of ${typeOf(s.additionalProperties)}`;
  if (Array.isArray(s.type)) return s.type.join(" \\| ");
  return s.type ?? "any";
}

function rangeOf(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined && s.maximum !== undefined && s.maximum < MAX_SAFE)
    parts.push(`${s.minimum}–${s.maximum}`);
  else if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined && s.maximum < MAX_SAFE) parts.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) parts.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) parts.push(`length ≤ ${s.maxLength}`);
  return parts.join(", ");
}

function defaultOf(s: JsonSchema): string {
  if (s.default === undefined) return "";
  if (typeof s.default === "object" && s.default !== null && Object.keys(s.default).length > 2)
    return "see keys";
  return "`" + JSON.stringify(s.default) + "`";
}

function walk(s: JsonSchema, path: string, rows: Row[], required: boolean): void {
  const isLeafObject =
    s.type === "object" && (s.properties || typeof s.additionalProperties === "object");
  const variants = s.anyOf ?? s.oneOf;
  if (path) {
    rows.push({
      path: "`" + path + "`" + (required && s.default === undefined ? " *" : ""),
      type:
        isLeafObject && s.properties
          ? "object"
          : variants?.every((v) => v.properties)
            ? "one of below"
            : typeOf(s),
      def: defaultOf(s),
      range: rangeOf(s),
      description: (s.description ?? "").replace(/\|/g, "\\|"),
    });
  }
  if (s.properties) {
    const req = new Set(s.required ?? []);
    for (const [k, v] of Object.entries(s.properties))
      walk(v, path ? `${path}.${k}` : k, rows, req.has(k));
  } else if (s.type === "object" && typeof s.additionalProperties === "object") {
    const inner = s.additionalProperties;
    if (inner.properties || inner.anyOf || inner.oneOf) walk(inner, `${path}.<id>`, rows, false);
  } else if (variants && variants.every((v) => v.properties)) {
    for (const v of variants) {
      const tag = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
      const label = tag ? `${path}{${tag[0]}=${String(tag[1].const)}}` : path;
      for (const [k, p] of Object.entries(v.properties ?? {})) {
        if (tag && k === tag[0]) continue;
        walk(p, `${label}.${k}`, rows, (v.required ?? []).includes(k));
      }
    }
  }
}

export function renderConfigReference(): string {
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const rows: Row[] = [];
  walk(json, "", rows, true);
  const lines = [
    "# Configuration reference",
    "",
    "Generated from `packages/core/src/config/schema.ts` by `npm run config-reference -w @rg/core`;",
    "a test fails when this file and the schema disagree. `*` marks a required key; `<id>` is a",
    "name you choose (letters, digits, `-`, `_`). Durations are in milliseconds, sizes in bytes.",
    "",
    "| key | type | default | range | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.path} | ${r.type} | ${r.def} | ${r.range} | ${r.description} |`),
    "",
  ];
  return lines.join("\n");
}
