import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveAuthSecret } from "./secret";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("resolveAuthSecret", () => {
  it("uses AUTH_SECRET when set and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "rg-secret-"));
    dirs.push(dir);
    const given = "x".repeat(40);
    expect(resolveAuthSecret(given, join(dir, "gateway.db"))).toBe(given);
    expect(() => statSync(join(dir, "auth-secret"))).toThrow();
  });

  it("generates one beside the database, readable only by the owner, and reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "rg-secret-"));
    dirs.push(dir);
    const db = join(dir, "data", "gateway.db");
    const first = resolveAuthSecret(undefined, db);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, "data", "auth-secret");
    expect(readFileSync(file, "utf8").trim()).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveAuthSecret(undefined, db)).toBe(first);
    const other = mkdtempSync(join(tmpdir(), "rg-secret-"));
    dirs.push(other);
    expect(resolveAuthSecret(undefined, join(other, "gateway.db"))).not.toBe(first);
  });
});
