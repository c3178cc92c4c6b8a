import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  currentRevision,
  MIGRATIONS_FOLDER,
  openStore,
  queryAudit,
  queryEvents,
  readSliSeries,
  seedBootstrapConfig,
  setOverride,
} from "../src/index";
import { bootstrapInput, FIXTURES, tempStore, type TempStore } from "./helpers";
import { enableWal } from "../src/store";

let t: TempStore;
const children: ChildProcess[] = [];
beforeEach(() => {
  t = tempStore();
  seedBootstrapConfig(t.store, bootstrapInput(), "test.yaml");
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  return t.cleanup();
});

function run(script: string, args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", join(FIXTURES, script), ...args], {
    cwd: join(FIXTURES, "..", ".."),
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: string | null;
    out: string;
    err: string;
  }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, out, err })));
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (out.includes(text) ? resolve() : undefined);
      child.stdout!.on("data", check);
      child.on("exit", () => reject(new Error(`exited before '${text}': ${err}`)));
      check();
    });
  return { child, done, waitFor };
}

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split("\n").pop()!) as T;

describe("several processes on one file", () => {
  it("revision rises monotonically under concurrent writers from two processes", async () => {
    const N = 80;
    const a = run("override-writer.ts", [t.path, "alice", String(N)]);
    const b = run("override-writer.ts", [t.path, "bob", String(N)]);
    await Promise.all([a.waitFor("ready"), b.waitFor("ready")]);
    a.child.stdin!.end("go\n");
    b.child.stdin!.end("go\n");
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    const ja = lastJson<{ revisions: number[]; errors: string[] }>(ra.out);
    const jb = lastJson<{ revisions: number[]; errors: string[] }>(rb.out);
    expect(ja.errors).toEqual([]);
    expect(jb.errors).toEqual([]);
    for (const revs of [ja.revisions, jb.revisions])
      for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
    const all = [...ja.revisions, ...jb.revisions].sort((x, y) => x - y);
    // Every change got its own revision: 2..2N+1 after the bootstrap's 1.
    expect(all).toEqual(Array.from({ length: 2 * N }, (_, i) => i + 2));
    expect(currentRevision(t.store)).toBe(2 * N + 1);
    // The two really ran at once: their revisions interleave.
    const [minA, maxA] = [ja.revisions[0]!, ja.revisions[N - 1]!];
    expect(jb.revisions.some((r) => r > minA && r < maxA)).toBe(true);
    expect(queryAudit(t.store, { action: "override.set", limit: 1000 }).rows).toHaveLength(2 * N);
  }, 60_000);

  it("two processes opening a fresh file at once both migrate it safely", async () => {
    const fresh = join(t.dir, "fresh", "store.db");
    const kids = [run("open-store.ts", [fresh]), run("open-store.ts", [fresh])];
    await Promise.all(kids.map((k) => k.waitFor("ready")));
    for (const k of kids) k.child.stdin!.end("go\n");
    const results = await Promise.all(kids.map((k) => k.done));
    for (const r of results) {
      expect(r.code, r.err).toBe(0);
      expect(lastJson<{ revision: number }>(r.out)).toEqual({ revision: 0 });
    }
    const s = openStore(fresh);
    const applied = s.sqlite.prepare("SELECT count(*) FROM __drizzle_migrations").pluck().get();
    s.close();
    expect(applied).toBe(readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length);
  }, 60_000);

  it("a writer process and a reader process see no SQLITE_BUSY", async () => {
    const durationMs = 4000;
    const w = run("event-writer.ts", [t.path, String(durationMs), "300"]);
    await w.waitFor("ready");
    const reader = openStore(t.path);
    const errors: string[] = [];
    let reads = 0;
    let writes = 0;
    const until = Date.now() + durationMs - 500;
    while (Date.now() < until) {
      try {
        queryEvents(reader, { upstream: "u1", limit: 50 });
        readSliSeries(reader, { route: "r0", from: Date.now() - 60_000, to: Date.now() });
        reads++;
        if (reads % 5 === 0) {
          const r = setOverride(reader, {
            path: "gateway.mode",
            value: writes % 2 ? "normal" : "degraded",
            actor: "dash",
            role: "admin",
            reason: "load test",
          });
          if (r.ok) writes++;
        }
      } catch (e) {
        errors.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    reader.close();
    const res = await w.done;
    expect(res.code, res.err).toBe(0);
    const stats = lastJson<{ written: number; dropped: Record<string, number>; healthy: boolean }>(
      res.out,
    );
    expect(errors).toEqual([]);
    expect(stats.dropped).toEqual({ queue_full: 0, store_error: 0, disk_full: 0, busy: 0 });
    expect(stats.written).toBeGreaterThan(10_000);
    expect(reads).toBeGreaterThan(20);
    expect(writes).toBeGreaterThan(2);
  }, 60_000);

  it("a writer killed with SIGKILL mid-burst leaves a database that reopens intact", async () => {
    const w = run("event-writer.ts", [t.path, "0", "5000"]);
    await w.waitFor("ready");
    await new Promise((r) => setTimeout(r, 300));
    w.child.kill("SIGKILL");
    const res = await w.done;
    expect(res.signal).toBe("SIGKILL");
    t.store.close();
    const raw = new Database(t.path);
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    raw.close();
    const again = t.reopen();
    expect(queryEvents(again, { limit: 1 })).toHaveLength(1);
    expect(currentRevision(again)).toBe(1);
  }, 60_000);
});

describe("enableWal", () => {
  /** A connection whose `journal_mode` pragma fails with each of `errors`, then succeeds. */
  const connection = (errors: (string | undefined)[]) => {
    const calls: string[] = [];
    const sqlite = {
      pragma(text: string) {
        calls.push(text);
        const code = errors.shift();
        if (code !== undefined) throw Object.assign(new Error(code), { code });
        return "wal";
      },
    } as unknown as Database.Database;
    return { sqlite, calls };
  };

  it("retries while another connection holds the lock, then switches", () => {
    const c = connection(["SQLITE_BUSY", "SQLITE_BUSY"]);
    enableWal(c.sqlite, 5000);
    expect(c.calls).toEqual(Array(3).fill("journal_mode = WAL"));
  });

  it("gives up at the end of its budget, and at once on any other error", () => {
    const busy = connection(Array(1000).fill("SQLITE_BUSY"));
    expect(() => enableWal(busy.sqlite, 0)).toThrow("SQLITE_BUSY");
    expect(busy.calls).toHaveLength(1);
    const other = connection(["SQLITE_IOERR", undefined]);
    expect(() => enableWal(other.sqlite, 5000)).toThrow("SQLITE_IOERR");
    expect(other.calls).toHaveLength(1);
  });
});
