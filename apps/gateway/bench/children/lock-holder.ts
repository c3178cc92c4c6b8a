/**
 * Another process writing to the gateway's store, as the dashboard does when operators act:
 * every `everyMs` it holds the write lock for `holdMs` (one IMMEDIATE transaction that
 * records a row of its own). Prints "READY 0 <pid>".
 */
import { openStore } from "@rg/db";

const [path, holdArg, everyArg] = process.argv.slice(2);
const holdMs = Number(holdArg ?? 50);
const everyMs = Number(everyArg ?? 500);
const store = openStore(path!);
store.sqlite.exec("CREATE TABLE IF NOT EXISTS bench_lock_holder (at INTEGER NOT NULL)");
const insert = store.sqlite.prepare("INSERT INTO bench_lock_holder (at) VALUES (?)");
const pause = new Int32Array(new SharedArrayBuffer(4));
const timer = setInterval(() => {
  store.sqlite
    .transaction(() => {
      insert.run(Date.now());
      // Hold the lock, as a slow transaction would.
      Atomics.wait(pause, 0, 0, holdMs);
    })
    .immediate();
}, everyMs);
process.stdout.write(`READY 0 ${process.pid}\n`);
process.on("SIGTERM", () => {
  clearInterval(timer);
  store.close();
  process.exit(0);
});
