import { expect, test } from "../fixtures";
import { shot, traffic } from "./helpers";

// The demo payments service fails: the overview shows its breaker open with the reason, an
// incident opens, and its timeline lists what happened in order; the operator acknowledges,
// annotates and resolves it.
test("a failing upstream opens its breaker, with the reason, and an incident", async ({
  page,
  stack,
  signIn,
}) => {
  await signIn(page, "operator");
  await stack.demo.set("payments", { errorRate: 1 });
  let stop = false;
  const load = traffic(stack, {
    path: "/api/payments/charges",
    maxRequests: 1500,
    maxDurationMs: 30_000,
    ratePerSec: 50,
    until: () => stop,
  });
  try {
    const card = page
      .getByRole("article")
      .filter({ has: page.getByRole("heading", { name: "payments", exact: true }) });
    await expect(card.locator(".badge").first()).toHaveText(/Open|Half-open/, { timeout: 20_000 });
    await expect(card).toContainText(
      /failure rate \d+% ≥ 50%|consecutive failures|probe failed|open time elapsed/,
    );
    await expect(page.getByRole("region", { name: "Open incidents" })).toContainText("payments");
    await shot(page, "outage-overview");

    await page
      .getByRole("region", { name: "Open incidents" })
      .getByRole("link", { name: /Circuit open on payments/ })
      .click();
    await expect(page.getByRole("heading", { level: 1 })).toContainText("payments");
    const items = page.getByRole("list", { name: "Incident timeline" }).getByRole("listitem");
    await expect(items.filter({ hasText: /Breaker payments closed → open/ })).toHaveCount(1);
    await expect(items.filter({ hasText: "Incident opened" })).toHaveCount(1);
  } finally {
    stop = true;
    await load;
    await stack.demo.reset();
  }

  // Times in the timeline never go backwards.
  const times = await page
    .getByRole("list", { name: "Incident timeline" })
    .locator("time")
    .allTextContents();
  expect(times.length).toBeGreaterThan(1);
  expect([...times].sort()).toEqual(times);

  await page.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.locator(".badge").filter({ hasText: "Acknowledged" })).toBeVisible();
  await page.getByLabel("Note").fill("demo provider returned 500 for every call");
  await page.getByRole("button", { name: "Add note" }).click();
  const items = page.getByRole("list", { name: "Incident timeline" }).getByRole("listitem");
  await expect(
    items
      .and(page.locator('[data-kind="note"]'))
      .filter({ hasText: "demo provider returned 500 for every call" }),
  ).toHaveCount(1);
  await page.getByLabel("Resolution summary").fill("provider recovered");
  await page.getByRole("button", { name: "Resolve" }).click();
  await expect(page.locator(".badge").filter({ hasText: "Resolved" })).toBeVisible();
  // Breaker opened before the operator's acknowledgement, which came before the note.
  const texts = await items.allTextContents();
  const idx = (re: RegExp) => texts.findIndex((t) => re.test(t));
  expect(idx(/closed → open/)).toBeGreaterThanOrEqual(0);
  expect(idx(/closed → open/)).toBeLessThan(idx(/incident\.acknowledge/));
  expect(idx(/incident\.acknowledge/)).toBeLessThan(idx(/demo provider returned 500/));
  await shot(page, "incident-timeline");

  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Incidents" })
    .click();
  await expect(
    page
      .getByRole("row")
      .filter({ hasText: /Circuit open on payments/ })
      .first(),
  ).toContainText("Resolved");
  await shot(page, "incidents-list");
});
