/**
 * Operator overrides: a dotted path into the config and a new value. The effective config is
 * the bootstrap input with every live override applied in revision order, validated again.
 */
import type { Config } from "./schema";
import { validateConfig, type ConfigIssue, type ConfigResult } from "./validate";

export interface ConfigOverride {
  /** Dotted path, e.g. `routes.payments.mode` or `upstreams.payments.circuitBreaker.forcedState`. */
  path: string;
  /** New value; `undefined` removes the key (falls back to the default). */
  value: unknown;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

export function splitPath(path: string): string[] {
  const parts = path.split(".");
  if (parts.length === 0 || parts.some((p) => !SEGMENT.test(p))) {
    throw new Error(`invalid override path '${path}'`);
  }
  if (parts.some((p) => p === "__proto__" || p === "constructor" || p === "prototype")) {
    throw new Error(`invalid override path '${path}'`);
  }
  return parts;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The entry of a record keyed by id, or undefined. Ids are looked up as own keys only: a plain
 * `record[id]` or `id in record` also finds Object.prototype members such as `toString` or
 * `constructor`, which are valid ids.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Return a deep copy of `input` with `value` set at `path` (intermediate objects created). */
export function setAtPath(input: unknown, path: string, value: unknown): unknown {
  const parts = splitPath(path);
  const root: unknown = structuredClone(input ?? {});
  if (!isPlainObject(root)) throw new Error("config root must be an object");
  let node: Record<string, unknown> = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    const next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (next === undefined) node[k] = {};
    else if (!isPlainObject(next))
      throw new Error(`'${parts.slice(0, i + 1).join(".")}' is not an object`);
    node = node[k] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
  return root;
}

/** Read the value at a dotted path of a (validated) config, or undefined. */
export function getAtPath(config: unknown, path: string): unknown {
  let node: unknown = config;
  for (const k of splitPath(path)) {
    if (!isPlainObject(node) || !Object.hasOwn(node, k)) return undefined;
    node = node[k];
  }
  return node;
}

/** Apply overrides to the bootstrap input in order and validate the result. */
export function applyOverrides(
  bootstrap: unknown,
  overrides: readonly ConfigOverride[],
): ConfigResult {
  let input = bootstrap;
  for (const o of overrides) {
    try {
      input = setAtPath(input, o.path, o.value);
    } catch (e) {
      return { ok: false, issues: [{ path: o.path, message: (e as Error).message }] };
    }
  }
  return validateConfig(input);
}

export type { Config };

/**
 * Settings a running gateway cannot take on: the sockets it listens on and the parser's
 * header limit are fixed when it starts. Everything else in the config applies at runtime.
 */
export const STARTUP_ONLY_PATHS = [
  "gateway.listen.host",
  "gateway.listen.port",
  "gateway.admin.host",
  "gateway.admin.port",
  "gateway.limits.maxHeaderBytes",
] as const;

/**
 * The startup-only settings that differ between two configs, as issues naming each one: an
 * override may not change them, because it would be recorded as applied and do nothing.
 */
export function startupOnlyChanges(before: Config, after: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const path of STARTUP_ONLY_PATHS) {
    const was = getAtPath(before, path);
    const now = getAtPath(after, path);
    if (was !== now)
      issues.push({
        path,
        message: `is fixed when the gateway starts (${String(was)} now): change it in the config file and restart the gateway`,
      });
  }
  return issues;
}
