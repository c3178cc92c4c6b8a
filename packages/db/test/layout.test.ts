import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { LATENCY_CELLS } from "@rg/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  appendEvents,
  MIGRATIONS_FOLDER,
  openStore,
  queryEvents,
  readSliSeries,
  writeSliBuckets,
} from "../src/index";
import {
  chunkParams,
  chunkQuerySql,
  EVENT_CURSOR_SQL,
  EVENT_RETENTION_SQL,
  type ChunkFilter,
} from "../src/events";
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
const plan = (db: Database.Database, sqlText: string, params: unknown[] = []) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sqlText}`).all(...params) as { detail: string }[])
    .map((r) => r.detail)
    .join("; ");

describe("write-path layout", () => {
  it("clusters second buckets on time and stores events in chunks indexed per chunk", () => {
    const s = openStore(tempPath());
    try {
      expect(tableSql(s.sqlite, "sli_seconds")).toMatch(
        /PRIMARY KEY\(`start`, `route`, `upstream`\)\s*\) WITHOUT ROWID/,
      );
      expect(indexes(s.sqlite, "sli_seconds")).toEqual(["sli_seconds_upstream_idx"]);
      expect(tableSql(s.sqlite, "events")).toBeUndefined();
      expect(indexes(s.sqlite, "event_chunks")).toEqual([
        "event_chunks_last_at_idx",
        "event_chunks_route_idx",
        "event_chunks_route_type_idx",
        "event_chunks_type_idx",
        "event_chunks_upstream_idx",
        "event_chunks_upstream_type_idx",
      ]);
      // Every shape of event read (each filter given or not, either order) searches the index
      // matching its equalities, with last_at bounded, and needs no sort.
      const keys = ["from", "to", "type", "route", "upstream", "instance"] as const;
      const chosen = new Map<string, string>();
      for (let m = 0; m < 1 << keys.length; m++) {
        const f: ChunkFilter = {};
        keys.forEach((k, i) => {
          if (m & (1 << i)) Object.assign(f, { [k]: k === "from" || k === "to" ? 1 : "x" });
        });
        for (const order of ["desc", "asc"] as const) {
          const p = plan(s.sqlite, chunkQuerySql(f, order), chunkParams(f));
          expect(p).toMatch(
            /^SEARCH event_chunks USING INDEX event_chunks_\w+_idx \((\w+=\? AND )*last_at>\? AND last_at<\?\)$/,
          );
          chosen.set(Object.keys(f).sort().join(","), p.split(" ")[4]!);
        }
      }
      expect(Object.fromEntries([...chosen].filter(([k]) => !/from|to|instance/.test(k)))).toEqual({
        "": "event_chunks_last_at_idx",
        type: "event_chunks_type_idx",
        route: "event_chunks_route_idx",
        "route,type": "event_chunks_route_type_idx",
        upstream: "event_chunks_upstream_idx",
        "type,upstream": "event_chunks_upstream_type_idx",
        "route,upstream": "event_chunks_upstream_idx",
        "route,type,upstream": "event_chunks_upstream_type_idx",
      });
      // The breaker strip's "last transition before the window": one seek.
      expect(chosen.get("to,type,upstream")).toBe("event_chunks_upstream_type_idx");
      expect(plan(s.sqlite, EVENT_CURSOR_SQL, [1])).toBe(
        "SEARCH event_chunks USING INTEGER PRIMARY KEY (rowid=?)",
      );
      expect(plan(s.sqlite, EVENT_RETENTION_SQL, [1, 10])).toMatch(
        /SEARCH event_chunks USING COVERING INDEX event_chunks_last_at_idx \(last_at<\?\)/,
      );
      expect(plan(s.sqlite, EVENT_RETENTION_SQL, [1, 10])).not.toMatch(/SCAN/);
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

  it("upgrades a store with one row per event into chunks, keeping every event and its order", () => {
    const path = tempPath();
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    const before = migrations.findIndex((m) =>
      m.sql.join("").includes("CREATE TABLE `event_chunks`"),
    );
    expect(before).toBeGreaterThan(0);
    const old = new Database(path);
    registerFunctions(old);
    applyMigrations(old, migrations.slice(0, before));
    expect(tableSql(old, "event_chunks")).toBeUndefined();
    const ins = old.prepare(
      "INSERT INTO events (at, instance, type, route, upstream, payload) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const rows: [number, string, string, string | null, string | null, object][] = [
      [T0 + 5, "gw-1", "retry.scheduled", "r", "u", { attempt: 1, delayMs: 5, after: "http_5xx" }],
      [T0 + 5, "gw-1", "retry.scheduled", "r", "u", { attempt: 2, delayMs: 9, after: "timeout" }],
      [T0, "gw-2", "config.applied", null, null, { revision: 3 }],
      [
        T0 + 7,
        "gw-1",
        "breaker.transition",
        null,
        "u",
        { from: "closed", to: "open", reason: { trigger: "failure_rate" } },
      ],
      // Arrived late: older time, newer id.
      [T0 + 1, "gw-2", "deadline.exceeded", "r", null, { budgetMs: 100 }],
      [T0 + 7, "store", "incident.opened", null, "u", { incidentId: 1, trigger: "breaker_open" }],
    ];
    for (const [at, inst, type, route, upstream, payload] of rows)
      ins.run(at, inst, type, route, upstream, JSON.stringify(payload));
    // What the store returned for these rows before the change, newest first.
    const expected = (
      old.prepare("SELECT * FROM events ORDER BY at DESC, id DESC").all() as {
        id: number;
        at: number;
        instance: string;
        type: string;
        route: string | null;
        upstream: string | null;
        payload: string;
      }[]
    ).map((r) => ({
      oldId: r.id,
      at: r.at,
      instance: r.instance,
      type: r.type,
      route: r.route,
      upstream: r.upstream,
      event: {
        type: r.type,
        at: r.at,
        ...(r.route !== null ? { route: r.route } : {}),
        ...(r.upstream !== null ? { upstream: r.upstream } : {}),
        ...(JSON.parse(r.payload) as object),
      },
    }));
    old.close();

    const s = openStore(path);
    try {
      expect(tableSql(s.sqlite, "events")).toBeUndefined();
      const all = queryEvents(s);
      expect(all.map(({ id: _id, ...e }) => e)).toEqual(expected.map(({ oldId: _o, ...e }) => e));
      // Ids keep the old ids' order (one chunk per old row).
      const pairs = all.map((e, k) => [expected[k]!.oldId, e.id] as const);
      const newIdsByOldId = [...pairs].sort((a, b) => a[0] - b[0]).map(([, id]) => id);
      expect(newIdsByOldId).toEqual([...newIdsByOldId].sort((a, b) => a - b));
      expect(new Set(all.map((e) => e.id)).size).toBe(rows.length);
      // Paging, filters and new writes work on the migrated rows.
      const page = queryEvents(s, { limit: 2 });
      expect(queryEvents(s, { limit: 2, beforeId: page[1]!.id })).toEqual(all.slice(2, 4));
      expect(queryEvents(s, { upstream: "u", types: ["breaker.transition"] })).toEqual([all[1]]);
      appendEvents(s, "gw-1", [{ type: "config.applied", at: T0 + 6, revision: 4 }]);
      expect(queryEvents(s, { limit: 3 }).map((e) => e.at - T0)).toEqual([7, 7, 6]);
      expect(queryEvents(s, { limit: 3 })[2]!.id).toBeGreaterThan(
        Math.max(...all.map((e) => e.id)),
      );
    } finally {
      s.close();
    }
  });
});
