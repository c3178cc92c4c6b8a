import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { LATENCY_CELLS } from "@rg/core";
import { afterEach, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, openStore, readSliSeries, writeSliBuckets } from "../src/index";
import { applyMigrations } from "../src/store";
import { registerFunctions } from "../src/sql-functions";
import { bucket } from "./helpers";

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const d = mkdtempSync(join(tmpdir(), "rg-layout-"));
  dirs.push(d);
  return join(d, "store.db");
};

const tableSql = (db: Database.Database, name: string) =>
  db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name);
const indexes = (db: Database.Database, table: string) =>
  (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
      )
      .pluck()
      .all(table) as string[]
  ).sort();
const plan = (db: Database.Database, sqlText: string) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sqlText}`).all() as { detail: string }[])
    .map((r) => r.detail)
    .join("; ");

describe("write-path layout", () => {
  it("clusters second buckets on time and keeps events to three indexes", () => {
    const s = openStore(tempPath());
    try {
      expect(tableSql(s.sqlite, "sli_seconds")).toMatch(
        /PRIMARY KEY\(`start`, `route`, `upstream`\)\s*\) WITHOUT ROWID/,
      );
      expect(indexes(s.sqlite, "sli_seconds")).toEqual(["sli_seconds_upstream_idx"]);
      expect(indexes(s.sqlite, "events")).toEqual([
        "events_at_idx",
        "events_route_at_idx",
        "events_upstream_at_idx",
      ]);
      // The reads the dashboard makes still search an index, never scan the table.
      expect(
        plan(
          s.sqlite,
          "SELECT * FROM events WHERE upstream = 'u' AND type IN ('breaker.transition') AND at >= 0 AND at <= 1 ORDER BY at DESC, id DESC LIMIT 200",
        ),
      ).toMatch(/^SEARCH events USING INDEX events_upstream_at_idx/);
      expect(
        plan(
          s.sqlite,
          "SELECT * FROM events WHERE at >= 0 AND at <= 1 AND type IN ('config.applied') ORDER BY at, id",
        ),
      ).toMatch(/^SEARCH events USING INDEX events_at_idx/);
      expect(
        plan(s.sqlite, "SELECT * FROM sli_seconds WHERE start >= 0 AND start < 1 AND route = 'r'"),
      ).toMatch(/^SEARCH sli_seconds USING PRIMARY KEY \(start>\? AND start<\?\)/);
      expect(
        plan(
          s.sqlite,
          "SELECT * FROM sli_seconds WHERE start >= 0 AND start < 1 AND upstream = 'u'",
        ),
      ).toMatch(/^SEARCH sli_seconds USING INDEX sli_seconds_upstream_idx/);
    } finally {
      s.close();
    }
  });

  it("upgrades a store written before the change without losing second buckets", () => {
    const path = tempPath();
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    const before = migrations.findIndex((m) => m.sql.join("").includes("WITHOUT ROWID"));
    expect(before).toBeGreaterThan(0);
    // Build the file as the previous release left it, through the store's own migrator.
    const old = new Database(path);
    registerFunctions(old);
    applyMigrations(old, migrations.slice(0, before));
    expect(tableSql(old, "sli_seconds")).not.toMatch(/WITHOUT ROWID/);
    old
      .prepare(
        "INSERT INTO sli_seconds (start, route, upstream, success, http_5xx, latency) VALUES (?, 'r', 'u', 5, 1, ?)",
      )
      .run(T0, JSON.stringify(new Array(LATENCY_CELLS).fill(0)));
    old.close();

    const s = openStore(path);
    try {
      expect(tableSql(s.sqlite, "sli_seconds")).toMatch(/WITHOUT ROWID/);
      // Rows kept, and a second arriving again is still added to them.
      writeSliBuckets(s, [bucket(T0, "r", "u", { success: 2 })]);
      const [p] = readSliSeries(s, { route: "r", from: T0, to: T0 + 1000 });
      expect(p!.success).toBe(7);
      expect(p!.http5xx).toBe(1);
    } finally {
      s.close();
    }
  });
});
