/**
 * The session-signing secret: AUTH_SECRET when set, otherwise one generated on first start
 * and kept (mode 0600) beside the database, so sessions survive restarts.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function resolveAuthSecret(configured: string | undefined, databasePath: string): string {
  if (configured) return configured;
  const dir = dirname(databasePath);
  const file = join(dir, "auth-secret");
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) return stored;
  }
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  try {
    // "wx": another process starting at the same moment may have written it first.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) return stored;
    throw new Error(`cannot persist the auth secret at ${file}`);
  }
  chmodSync(file, 0o600);
  return secret;
}
