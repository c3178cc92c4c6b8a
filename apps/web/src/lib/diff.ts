/**
 * Before → after diffs of config values and audit rows: flatten both sides to dotted paths
 * and list what was added, removed or changed, so an operator sees exactly which leaf moved.
 */

export type ChangeKind = "added" | "removed" | "changed";

export interface Change {
  /** Dotted path relative to the diffed value ("" for the value itself). */
  path: string;
  kind: ChangeKind;
  before: unknown;
  after: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (isObject(v) && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) flatten(child, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) {
    out.set(prefix, v);
  }
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Leaf-level changes between two values, sorted by path. Arrays are compared as leaves. */
export function diffValues(before: unknown, after: unknown): Change[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, "", a);
  flatten(after, "", b);
  const paths = new Set([...a.keys(), ...b.keys()]);
  const out: Change[] = [];
  for (const p of paths) {
    const hasA = a.has(p);
    const hasB = b.has(p);
    if (hasA && hasB) {
      if (!same(a.get(p), b.get(p)))
        out.push({ path: p, kind: "changed", before: a.get(p), after: b.get(p) });
    } else if (hasB) out.push({ path: p, kind: "added", before: undefined, after: b.get(p) });
    else out.push({ path: p, kind: "removed", before: a.get(p), after: undefined });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** Prefix relative diff paths with the config path they were taken at. */
export function joinPath(base: string, rel: string): string {
  if (!rel) return base;
  if (!base) return rel;
  return `${base}.${rel}`;
}
