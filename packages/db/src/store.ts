import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import * as schema from "./schema";
import { registerFunctions } from "./sql-functions";

export type Db = BetterSQLite3Database<typeof schema>;

export interface Store {
  db: Db;
  sqlite: Database.Database;
  path: string;
  /** The busy timeout this connection was opened with (the writer lowers it while flushing). */
  busyTimeoutMs: number;
  close(): void;
}

export interface OpenStoreOptions {
  readonly?: boolean;
  /** How long a writer waits for another connection's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Bytes kept in the WAL after a checkpoint. Default 64 MiB. */
  journalSizeLimit?: number;
  /** Pages after which the WAL is checkpointed automatically. Default 1000. */
  walAutocheckpoint?: number;
}

/** Located from this file (not with `new URL`) so bundlers resolving workspace sources cope. */
export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), "..", "migrations");

/**
 * Open (creating if needed) the store at `path`, apply pending migrations and set the
 * connection up for many readers and one writer at a time (WAL).
 */
export function openStore(path: string, opts: OpenStoreOptions = {}): Store {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const readonly = opts.readonly ?? false;
  if (!readonly && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path, { readonly, fileMustExist: readonly });
  try {
    sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    if (!readonly) {
      enableWal(sqlite, busyTimeoutMs);
      sqlite.pragma("synchronous = NORMAL");
      // 32 MiB of page cache: roll-ups and month-long reads touch many index pages.
      sqlite.pragma("cache_size = -32768");
      sqlite.pragma(`journal_size_limit = ${opts.journalSizeLimit ?? 64 * 1024 * 1024}`);
      sqlite.pragma(`wal_autocheckpoint = ${opts.walAutocheckpoint ?? 1000}`);
    }
    sqlite.pragma("foreign_keys = ON");
    registerFunctions(sqlite);
    const db = drizzle(sqlite, { schema });
    if (!readonly) applyMigrations(sqlite);
    return {
      db,
      sqlite,
      path,
      busyTimeoutMs,
      close() {
        if (sqlite.open) sqlite.close();
      },
    };
  } catch (e) {
    sqlite.close();
    throw e;
  }
}

/**
 * `journal_mode = WAL`, retried while another connection holds the lock it needs. Two
 * processes opening a fresh file at once both ask for it, and SQLite answers one of them
 * SQLITE_BUSY at once, without waiting through the busy timeout (which would deadlock them).
 * So it is retried here, with a short blocking wait (opening is synchronous), for up to
 * `budgetMs`.
 */
export function enableWal(sqlite: Database.Database, budgetMs: number): void {
  const deadline = Date.now() + budgetMs;
  for (let waitMs = 2; ; waitMs = Math.min(waitMs * 2, 50)) {
    try {
      sqlite.pragma("journal_mode = WAL");
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw e;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitMs);
  }
}

const MIGRATIONS_TABLE = "__drizzle_migrations";

/**
 * Apply pending drizzle-kit migrations, bookkept exactly as drizzle's own migrator does (same
 * table, hash and folder timestamp), but read-and-apply happens inside one IMMEDIATE
 * transaction: drizzle's migrator reads what is applied before taking the write lock, so two
 * processes opening a fresh file at once would both try to create every table.
 * `migrations` defaults to every file in the folder (tests pass a prefix to build older stores).
 */
export function applyMigrations(
  sqlite: Database.Database,
  migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }),
): void {
  const latest = migrations[migrations.length - 1]?.folderMillis ?? 0;
  const lastApplied = (): number | undefined => {
    const v = sqlite
      .prepare(`SELECT created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at DESC LIMIT 1`)
      .pluck()
      .get();
    return v === undefined || v === null ? undefined : Number(v);
  };
  // Fast path without the write lock: everything is applied already.
  try {
    if ((lastApplied() ?? -1) >= latest) return;
  } catch {
    // No bookkeeping table yet.
  }
  sqlite
    .transaction(() => {
      sqlite.exec(
        `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
      );
      const last = lastApplied();
      const record = sqlite.prepare(
        `INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`,
      );
      for (const m of migrations) {
        if (last !== undefined && last >= m.folderMillis) continue;
        for (const stmt of m.sql) if (stmt.trim() !== "") sqlite.exec(stmt);
        record.run(m.hash, m.folderMillis);
      }
    })
    .immediate();
}

/** Run `fn` in one IMMEDIATE write transaction (takes the write lock up front). */
export function writeTx<T>(store: Store, fn: () => T): T {
  return store.sqlite.transaction(fn).immediate();
}

const stmtCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** A statement prepared once per connection and cached by its text. */
export function prepared(store: Store, sqlText: string): Database.Statement {
  let m = stmtCache.get(store.sqlite);
  if (!m) stmtCache.set(store.sqlite, (m = new Map()));
  let s = m.get(sqlText);
  if (!s) m.set(sqlText, (s = store.sqlite.prepare(sqlText)));
  return s;
}

/** `PRAGMA data_version`: changes when another connection committed a write. */
export function dataVersion(store: Store): number {
  return store.sqlite.pragma("data_version", { simple: true }) as number;
}
