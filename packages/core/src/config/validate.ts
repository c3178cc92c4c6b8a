import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { configSchema, type Config } from "./schema";

export interface ConfigIssue {
  /** Dotted path into the config, e.g. `routes.payments.retry.maxAttempts`. */
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

/** Format issues as `path: reason` lines, the form shown to people and stored in events. */
export function formatIssues(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
}

export function pathToString(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({ path: pathToString(i.path), message: i.message }));
}

/** Validate a config object (already parsed from YAML/JSON), filling in every default. */
export function validateConfig(input: unknown): ConfigResult {
  const r = configSchema.safeParse(input);
  return r.success ? { ok: true, config: r.data } : { ok: false, issues: toIssues(r.error) };
}

/** Parse YAML text and validate it. YAML syntax errors are reported as issues at the root. */
export function parseConfigText(text: string): ConfigResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    return { ok: false, issues: [{ path: "", message: `invalid YAML: ${(e as Error).message}` }] };
  }
  return validateConfig(raw);
}

/** Like {@link validateConfig} but throws an Error listing every `path: reason`. */
export function loadConfig(input: unknown): Config {
  const r = validateConfig(input);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.config;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid config:\n  ${formatIssues(issues).join("\n  ")}`);
    this.name = "ConfigError";
  }
}
