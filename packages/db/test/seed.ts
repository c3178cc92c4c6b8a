import { LATENCY_CELLS } from "@rg/core";
import { rollupHours, type Store } from "../src/index";

/**
 * Fill the minute table directly (one row per minute × upstream, routes named after their
 * upstream) with 10 requests a minute: 9 successes and one 5xx, then the hour roll-ups.
 */
export function seedMinuteRollups(
  store: Store,
  opts: { from: number; days: number; upstreams: number },
): number {
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[4] = 6;
  latency[10] = 3;
  latency[20] = 1;
  const cells = JSON.stringify(latency);
  const minutes = opts.days * 1440;
  // Generated inside SQLite (a recursive CTE), a day per transaction, in time order as the
  // roll-up writes them.
  const stmt = store.sqlite.prepare(
    `WITH RECURSIVE m(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM m WHERE i + 1 < ?),
       u(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM u WHERE j + 1 < ?)
     INSERT INTO sli_minutes (start, route, upstream, success, http_5xx, connect_error, timeout,
       rate_limited, client_error, rejected, retries, fallbacks, slow, latency)
     SELECT ? + i * 60000, 'r' || j, 'u' || j, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, ?
     FROM m, u ORDER BY i, j`,
  );
  let n = 0;
  for (let d = 0; d < opts.days; d++)
    n += store.sqlite
      .transaction(
        () => stmt.run(d * 1440, (d + 1) * 1440, opts.upstreams, opts.from, cells).changes,
      )
      .immediate();
  rollupHours(store, opts.from, opts.from + minutes * 60_000);
  return n;
}
