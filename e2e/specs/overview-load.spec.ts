import { performance } from "node:perf_hooks";
import { expect, test } from "@playwright/test";
import { LATENCY_CELLS } from "@rg/core";
import { openStore, rollupHours } from "@rg/db";
import { startStack, USERS } from "../fixtures";
import type { Stack } from "../fixtures";
import { shot } from "./helpers";

const UPSTREAMS = 20;
const DAYS = 30;

/**
 * Fill the store with 30 days of minute roll-ups for every route × upstream (one route per
 * upstream, 10 requests a minute with one 5xx), generated inside SQLite a day per transaction.
 */
function seedRollups(
  dbPath: string,
  pairs: [route: string, upstream: string][],
  from: number,
): number {
  const store = openStore(dbPath);
  try {
    const latency = new Array<number>(LATENCY_CELLS).fill(0);
    latency[4] = 6;
    latency[10] = 3;
    latency[20] = 1;
    const cells = JSON.stringify(latency);
    const stmt = store.sqlite.prepare(
      `WITH RECURSIVE m(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM m WHERE i + 1 < ?)
       INSERT OR IGNORE INTO sli_minutes (start, route, upstream, success, http_5xx, connect_error,
         timeout, rate_limited, client_error, rejected, retries, fallbacks, slow, latency)
       SELECT ? + i * 60000, ?, ?, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, ? FROM m`,
    );
    let rows = 0;
    for (let d = 0; d < DAYS; d++)
      rows += store.sqlite
        .transaction(() => {
          let n = 0;
          for (const [route, upstream] of pairs)
            n += stmt.run(d * 1440, (d + 1) * 1440, from, route, upstream, cells).changes;
          return n;
        })
        .immediate();
    rollupHours(store, from, from + DAYS * 86_400_000);
    return rows;
  } finally {
    store.close();
  }
}

test.describe("overview with 30 days of history for 20 upstreams", () => {
  let stack: Stack;
  test.beforeAll(async () => {
    test.setTimeout(300_000);
    stack = await startStack({
      dashboard: true,
      tweak: (config) => {
        const url = config.upstreams.catalog!.endpoints.main!.url;
        const have = Object.keys(config.upstreams).length;
        for (let i = 0; have + i < UPSTREAMS; i++) {
          config.upstreams[`svc-${i}`] = { endpoints: { main: { url } } };
          config.routes[`svc-${i}`] = {
            match: { pathPrefix: `/api/svc-${i}` },
            upstream: `svc-${i}`,
          };
        }
      },
    });
  });
  test.afterAll(async () => {
    await stack?.close();
  });

  test("the overview's first load is served within 2 s", async ({ page }) => {
    test.setTimeout(300_000);
    const pairs = Object.entries(stack.config.routes).map(
      ([id, r]) => [id, r.upstream] as [string, string],
    );
    // The backup upstream serves the catalog route's fallback traffic.
    pairs.push(["catalog", "catalog-backup"]);
    expect(Object.keys(stack.config.upstreams)).toHaveLength(UPSTREAMS);
    const now = Date.now();
    const from = Math.floor((now - DAYS * 86_400_000) / 60_000) * 60_000;
    const t0 = performance.now();
    const rows = seedRollups(stack.dbPath, pairs, from);
    const seedMs = Math.round(performance.now() - t0);
    expect(pairs).toHaveLength(UPSTREAMS);
    expect(rows).toBe(DAYS * 1440 * UPSTREAMS);

    await page.goto(`${stack.webUrl}/sign-in`);
    await page.getByLabel("Email").fill(USERS.viewer.email);
    await page.getByLabel("Password").fill(USERS.viewer.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).not.toHaveURL(/sign-in/);
    await page.goto("about:blank");

    const cards = page.getByRole("article");
    const measure = async () => {
      // The server renders the cards with their data: the HTML alone holds all of them.
      const t0 = performance.now();
      const res = await page.request.get(`${stack.webUrl}/`);
      const html = await res.text();
      const htmlMs = Math.round(performance.now() - t0);
      expect(html.match(/<article/g)?.length).toBe(UPSTREAMS);

      const start = performance.now();
      await page.goto(`${stack.webUrl}/`, { waitUntil: "commit" });
      await page.waitForFunction(
        (n) =>
          (
            globalThis as unknown as {
              document: { querySelectorAll(s: string): { length: number } };
            }
          ).document.querySelectorAll("article").length >= n,
        UPSTREAMS,
        { polling: "raf" },
      );
      const ms = Math.round(performance.now() - start);
      await expect(cards).toHaveCount(UPSTREAMS);
      await page.waitForLoadState("load");
      const timing = await page.evaluate(() => {
        type Entry = { name: string; startTime: number };
        type Timing = { responseStart: number; requestStart: number; loadEventEnd: number };
        const perf = (
          globalThis as unknown as {
            performance: { getEntriesByType(type: string): (Entry & Timing)[] };
          }
        ).performance;
        const nav = perf.getEntriesByType("navigation")[0];
        const fcp = perf.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
        return {
          ttfb: nav ? Math.round(nav.responseStart - nav.requestStart) : -1,
          load: nav ? Math.round(nav.loadEventEnd) : -1,
          fcp: fcp ? Math.round(fcp.startTime) : -1,
        };
      });
      await page.goto("about:blank");
      return { ms, htmlMs, ...timing };
    };
    const first = await measure();
    const second = await measure();
    await page.goto(`${stack.webUrl}/`);
    await expect(cards).toHaveCount(UPSTREAMS);
    await shot(page, "overview-20-upstreams");
    const figures = {
      minuteRows: rows,
      seedMs,
      overviewFirstLoadMs: first.ms,
      overviewFirstLoadServerMs: first.ttfb,
      overviewWarmLoadMs: second.ms,
      overviewWarmLoadServerMs: second.ttfb,
      overviewFirstLoadEventMs: first.load,
      overviewWarmLoadEventMs: second.load,
      overviewFirstContentfulPaintMs: first.fcp,
      overviewWarmContentfulPaintMs: second.fcp,
      overviewHtmlMs: first.htmlMs,
    };
    console.log(
      `overview with ${UPSTREAMS} upstreams × ${DAYS} d of minute roll-ups (${rows} rows): content visible ${first.ms} ms (first contentful paint ${first.fcp} ms, server ${first.ttfb} ms, whole HTML ${first.htmlMs} ms, load event ${first.load} ms), warm ${second.ms} ms (server ${second.ttfb} ms, load event ${second.load} ms)`,
    );
    console.log(JSON.stringify(figures));
    // The budget applies to the server: the complete overview HTML, every card rendered with
    // its data, within 2 s. Browser paint times are reported alongside; on two shared cores
    // they mostly measure how busy the machine is.
    expect(first.htmlMs).toBeLessThanOrEqual(2000);
    expect(second.htmlMs).toBeLessThanOrEqual(2000);
  });
});
