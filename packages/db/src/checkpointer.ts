/**
 * WAL checkpoints copy pages into the database file and fsync it: the slowest part of a
 * write, tens of ms on a busy disk. Left to SQLite's auto-checkpoint they run inside whichever
 * commit crosses the threshold, i.e. inside the gateway's flush on its event loop. This runs
 * them instead on a worker thread with its own connection.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Store } from "./store";

// Plain CommonJS evaluated in the worker, so it needs no TypeScript loader.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 1000");
const checkpoint = () => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (e) { parentPort.postMessage(String(e)); }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m !== "close") return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  close(): Promise<void>;
}

/**
 * Turn off auto-checkpointing on `store`'s connection and checkpoint every `intervalMs` from a
 * worker thread. If the worker cannot start or dies, auto-checkpointing is turned back on.
 */
export function startCheckpointer(store: Store, intervalMs = 1000): Checkpointer | undefined {
  if (store.path === ":memory:" || store.path === "") return undefined;
  const previous = store.sqlite.pragma("wal_autocheckpoint", { simple: true }) as number;
  const restore = () => {
    if (store.sqlite.open) store.sqlite.pragma(`wal_autocheckpoint = ${previous || 1000}`);
  };
  let worker: Worker;
  try {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, path: store.path, intervalMs },
    });
  } catch {
    return undefined;
  }
  store.sqlite.pragma("wal_autocheckpoint = 0");
  worker.unref();
  let exited = false;
  worker.on("error", () => undefined);
  worker.on("exit", () => {
    exited = true;
    restore();
  });
  return {
    close() {
      if (exited) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const t = setTimeout(() => void worker.terminate(), 2000);
        worker.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        worker.postMessage("close");
      });
    },
  };
}
