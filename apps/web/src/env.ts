/**
 * The dashboard's configuration: the one module that reads process.env. Values are validated
 * once, at first use, so a misconfigured server fails fast with every problem listed.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";

const intFromEnv = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .optional()
    .transform((v) => v ?? fallback);

const boolFromEnv = (fallback: boolean) =>
  z
    .enum(["0", "1", "true", "false"])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === "1" || v === "true"));

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** SQLite store shared with the gateway. Default: <repo>/data/gateway.db. */
  DATABASE_PATH: z.string().min(1).optional(),
  /** Secret for signing session cookies; generated and kept under ./data when absent. */
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Public origin of the dashboard (e.g. https://ops.example.com); inferred per request when absent. */
  AUTH_URL: z.url().optional(),
  /** Extra origins allowed to call mutations (comma separated). */
  AUTH_TRUSTED_ORIGINS: z.string().optional(),
  /**
   * Sign-in throttling: attempts per window per account, and per client address when
   * AUTH_TRUSTED_PROXIES says which X-Forwarded-For entries to believe.
   */
  AUTH_SIGNIN_MAX: intFromEnv(5),
  AUTH_SIGNIN_WINDOW_S: intFromEnv(60),
  AUTH_RATE_LIMIT: boolFromEnv(true),
  /**
   * Addresses or CIDR ranges of the reverse proxies in front of the dashboard (comma
   * separated). Without it X-Forwarded-For is ignored, since any client can send one.
   */
  AUTH_TRUSTED_PROXIES: z.string().optional(),
  /** First-start admin; a random one-time password is printed when absent. */
  ADMIN_EMAIL: z
    .string()
    .regex(/^[^@\s]+@[^@\s]+$/, "must look like name@host")
    .optional(),
  ADMIN_PASSWORD: z.string().min(8).optional(),
});

export type Env = z.output<typeof envSchema> & { DATABASE_PATH: string };

/** The repository root: the nearest folder above the working directory holding turbo.json. */
function repoRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "turbo.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  // Fallback matches running from apps/web.
  return resolve(start, "..", "..");
}

let cached: Env | undefined;

export function env(): Env {
  if (cached) return cached;
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid dashboard environment:\n${lines.join("\n")}`);
  }
  const databasePath = parsed.data.DATABASE_PATH
    ? resolve(parsed.data.DATABASE_PATH)
    : join(repoRoot(process.cwd()), "data", "gateway.db");
  cached = { ...parsed.data, DATABASE_PATH: databasePath };
  return cached;
}
