import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { breakerOf } from "../fixtures/gateway-state";
import { expect, recordFigures, runLoad, startStack, test, USERS } from "../fixtures";
import type { Stack } from "../fixtures";

const screenshots = join(import.meta.dirname, "..", "screenshots");

async function signIn(page: Page, stack: Stack): Promise<void> {
  await page.goto(`${stack.webUrl}/sign-in`);
  await page.getByLabel("Email").fill(USERS.operator.email);
  await page.getByLabel("Password").fill(USERS.operator.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).not.toHaveURL(/sign-in/);
}

/** Keep payments busy (GETs only) until `done()`; bounded in count and time. */
function paymentsTraffic(stack: Stack, done: () => boolean, prefix: string) {
  return runLoad({
    baseUrl: stack.gatewayUrl,
    concurrency: 2,
    maxRequests: 3000,
    maxDurationMs: 40_000,
    ratePerSec: 40,
    request: (i) => ({ path: `/api/payments/${prefix}/${i}` }),
    until: done,
  });
}

// An operator's drill through the dashboard: a fault opens the payments breaker, the incident
// shows up with its reason, the operator puts the gateway in read-only in at most 3 clicks,
// writes get 503 while reads pass, and after recovery and resolve the timeline tells the story
// in order: fault → trip → operator action → recovery.
test("operator drill: incident visible, read-only in ≤ 3 clicks, timeline in order", async ({
  page,
}) => {
  test.setTimeout(240_000);
  mkdirSync(screenshots, { recursive: true });
  const stack = await startStack({ dashboard: true });
  try {
    await signIn(page, stack);
    // The operator is watching the incidents page (it refreshes on its own) when it happens.
    await page.goto(`${stack.webUrl}/incidents`);
    await expect(page.getByRole("heading", { level: 1, name: "Incidents" })).toBeVisible();

    // The fault: every payments call fails.
    await stack.demo.set("payments", { errorRate: 1 });
    let opened: number | undefined;
    const tripLoad = paymentsTraffic(stack, () => opened !== undefined, "fault");
    await expect
      .poll(
        async () => {
          const breaker = breakerOf(await stack.gatewayState(), "payments");
          if (breaker?.state === "open") opened = breaker.since;
          return breaker?.state;
        },
        { timeout: 20_000, intervals: [50] },
      )
      .toBe("open");
    await tripLoad;

    // The incident, with its reason, appears without reloading.
    const row = page.getByRole("row").filter({ hasText: /Circuit open on payments/ });
    await expect(row.first()).toBeVisible({ timeout: 15_000 });
    const incidentVisibleMs = Date.now() - opened!;
    await expect(row.first()).toContainText(/failure/i);
    await page.screenshot({
      path: join(screenshots, "drill-operator-incident.png"),
      fullPage: true,
    });
    await row.first().getByRole("link").click();
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Circuit open on payments");
    const incidentUrl = page.url();

    // Mitigation: read-only for the whole gateway, counting clicks from the incident page.
    let clicks = 0;
    const click = async (locator: ReturnType<Page["getByRole"]>) => {
      clicks++;
      await locator.click();
    };
    await click(
      page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }),
    );
    const modes = page.getByRole("group", { name: "Mode of the whole gateway" });
    await click(modes.getByRole("button", { name: "Read-only" }));
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("payments failing: stop writes while it recovers");
    await click(dialog.getByRole("button", { name: "Switch to read-only" }));
    await expect(modes.getByRole("button", { name: "Read-only" })).toHaveAttribute(
      "aria-pressed",
      "true",
    );
    await page.screenshot({
      path: join(screenshots, "drill-operator-read-only.png"),
      fullPage: true,
    });

    // Writes are refused, reads pass, once the gateway serves the new mode.
    await expect
      .poll(async () => {
        const res = await fetch(`${stack.gatewayUrl}/api/inventory/reservations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ item: 1 }),
        });
        await res.arrayBuffer();
        return [res.status, res.headers.get("retry-after") !== null];
      })
      .toEqual([503, true]);
    const read = await fetch(`${stack.gatewayUrl}/api/catalog/products/1`);
    await read.arrayBuffer();
    expect(read.status).toBe(200);

    // Recovery: the service heals; reads drive the breaker through half-open to closed.
    await stack.demo.set("payments", {});
    let closed = false;
    const recoveryLoad = paymentsTraffic(stack, () => closed, "recovery");
    await expect
      .poll(
        async () => {
          closed = breakerOf(await stack.gatewayState(), "payments")?.state === "closed";
          return closed;
        },
        { timeout: 30_000, intervals: [100] },
      )
      .toBe(true);
    await recoveryLoad;

    // Resolve the incident, then read its timeline.
    await page.goto(incidentUrl);
    await page
      .getByLabel("Resolution summary")
      .fill("provider recovered; read-only during the outage");
    await page.getByRole("button", { name: "Resolve" }).click();
    await expect(page.getByText(/Resolved by/)).toBeVisible();

    const timeline = page.getByRole("list", { name: "Incident timeline" }).getByRole("listitem");
    let rows: string[] = [];
    const order = () => {
      const find = (re: RegExp, from = 0) => rows.findIndex((r, i) => i >= from && re.test(r));
      const trip = find(/Breaker payments closed → open/);
      const fault = rows.findIndex(
        (r, i) => i < trip && /^(retry|ejection|health|timeout)\b/im.test(r),
      );
      const action = find(/operator[\s\S]*read_only/i, trip + 1);
      const recovery = find(/Breaker payments [\s\S]*→ closed/, action + 1);
      return { fault, trip, action, recovery };
    };
    const inOrder = async () => {
      rows = (await timeline.allInnerTexts()).map((t) => t.trim());
      const o = order();
      return o.fault >= 0 && o.trip > o.fault && o.action > o.trip && o.recovery > o.action;
    };
    try {
      await expect.poll(inOrder, { timeout: 15_000 }).toBe(true);
    } catch (err) {
      throw new Error(
        `timeline not in order fault → trip → action → recovery ${JSON.stringify(order())}:\n${rows.join("\n---\n")}`,
        { cause: err },
      );
    }
    await page.screenshot({
      path: join(screenshots, "drill-operator-timeline.png"),
      fullPage: true,
    });

    recordFigures("operator", {
      incidentVisibleMs,
      mitigationClicks: clicks,
      timelineRows: rows.length,
    });

    expect(incidentVisibleMs).toBeLessThanOrEqual(5_000);
    expect(clicks).toBeLessThanOrEqual(3);
  } finally {
    await stack.close();
  }
});
