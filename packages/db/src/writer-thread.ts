/**
 * The writer thread: its own connection to the store, doing every flush and upkeep run the
 * event writer posts to it, in order, and answering each with a StoreResult. SQLite's time
 * (transactions, lock waits, WAL checkpoints inside commits) is spent here, never on the
 * event loop that serves traffic. Loaded by `startWriterThread` in writer.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runUpkeep, writeBatch } from "./flush";
import { openStore } from "./store";
import type { ThreadReply, ThreadRequest, WriterThreadData } from "./writer";

const data = workerData as WriterThreadData;
const port = parentPort!;
const store = openStore(data.path, { busyTimeoutMs: data.busyTimeoutMs });

port.on("message", (m: ThreadRequest) => {
  if (m.kind === "close") {
    store.close();
    port.close();
    return;
  }
  const result =
    m.kind === "flush"
      ? writeBatch(store, m.batch, data.busyTimeoutMs)
      : runUpkeep(store, m.now, m.retention, data.busyTimeoutMs);
  port.postMessage({ kind: "result", seq: m.seq, result } satisfies ThreadReply);
});
port.postMessage({ kind: "ready" } satisfies ThreadReply);
