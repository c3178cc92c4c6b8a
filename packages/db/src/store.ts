import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
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
      sqlite.pragma("journal_mode = WAL");
      sqlite.pragma("synchronous = NORMAL");
      // 32 MiB of page cache: roll-ups and month-long reads touch many index pages.
      sqlite.pragma("cache_size = -32768");
      sqlite.pragma(`journal_size_limit = ${opts.journalSizeLimit ?? 64 * 1024 * 1024}`);
      sqlite.pragma(`wal_autocheckpoint = ${opts.walAutocheckpoint ?? 1000}`);
    }
    sqlite.pragma("foreign_keys = ON");
    registerFunctions(sqlite);
    const db = drizzle(sqlite, { schema });
    if (!readonly) migrateWithRetry(db, sqlite);
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
 * Two processes opening a fresh file at once both try to migrate; drizzle's migrator opens a
 * deferred transaction, so the loser may get SQLITE_BUSY on the lock upgrade. It then retries
 * and finds the migrations applied.
 */
function migrateWithRetry(db: Db, sqlite: Database.Database): void {
  for (let attempt = 0; ; attempt++) {
    try {
      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      return;
    } catch (e) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      const code =
        (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
      if (attempt >= 50 || !code?.startsWith("SQLITE_BUSY")) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + attempt * 10);
    }
  }
}

/** Run `fn` in one IMMEDIATE write transaction (takes the write lock up front). */
export function writeTx<T>(store: Store, fn: () => T): T {
  return store.sqlite.transaction(fn).immediate();
}

/** `PRAGMA data_version`: changes when another connection committed a write. */
export function dataVersion(store: Store): number {
  return store.sqlite.pragma("data_version", { simple: true }) as number;
}
