import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyCounts, LATENCY_CELLS, type ResilienceEvent, type SliBucket } from "@rg/core";
import {
  createEventWriter,
  openStore,
  type EventWriter,
  type EventWriterOptions,
  type OpenStoreOptions,
  type Store,
} from "../src/index";

/** A bootstrap config as an operator would write it (defaults left out). */
export function bootstrapInput(): Record<string, unknown> {
  return {
    gateway: { mode: "normal" },
    upstreams: {
      payments: { endpoints: { a: { url: "http://127.0.0.1:4101" } } },
      search: { endpoints: { a: { url: "http://127.0.0.1:4301" } } },
    },
    routes: {
      payments: { match: { pathPrefix: "/api/payments" }, upstream: "payments" },
      search: { match: { pathPrefix: "/api/search" }, upstream: "search" },
    },
  };
}

export interface TempStore {
  dir: string;
  path: string;
  store: Store;
  reopen(opts?: OpenStoreOptions): Store;
  /**
   * A writer on the store, closed by cleanup: a writer left open keeps its checkpoint thread's
   * connection to the file, which recreates the WAL while the folder is being removed.
   */
  writer(opts: EventWriterOptions): EventWriter;
  cleanup(): Promise<void>;
}

/** A store on a real file in a fresh temp folder. */
export function tempStore(opts?: OpenStoreOptions): TempStore {
  const dir = mkdtempSync(join(tmpdir(), "rg-db-"));
  const path = join(dir, "nested", "store.db");
  const opened: Store[] = [];
  const writers: EventWriter[] = [];
  const open = (o?: OpenStoreOptions) => {
    const s = openStore(path, o);
    opened.push(s);
    return s;
  };
  const store = open(opts);
  return {
    dir,
    path,
    store,
    reopen: open,
    writer(o) {
      const w = createEventWriter(store, o);
      writers.push(w);
      return w;
    },
    async cleanup() {
      await Promise.all(writers.map((w) => w.close()));
      for (const s of opened) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function bucket(
  start: number,
  route: string,
  upstream: string,
  patch: Partial<SliBucket["counts"]> & { latencyCell?: number; rejected?: number } = {},
): SliBucket {
  const { latencyCell, rejected, ...counts } = patch;
  const c = { ...emptyCounts(), ...counts };
  const n = Object.values(c).reduce((a, b) => a + b, 0);
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[latencyCell ?? 5] = n;
  return {
    start,
    route,
    upstream,
    counts: c,
    rejected: rejected ?? 0,
    retries: 0,
    fallbacks: 0,
    slow: 0,
    latency,
  };
}

/** Events stored, whatever their chunking. */
export const eventCount = (store: Store) =>
  store.sqlite.prepare("SELECT coalesce(sum(count), 0) FROM event_chunks").pluck().get() as number;

export const FIXTURES = join(import.meta.dirname, "fixtures");

/** An SLO burn on `route` at `at`, fast enough to open an incident. */
export function sloBurn(route: string, at: number): ResilienceEvent {
  return {
    type: "slo.burn",
    at,
    route,
    longBurnRate: 20,
    shortBurnRate: 20,
    threshold: 14.4,
    budgetRemaining: 0.2,
  };
}
