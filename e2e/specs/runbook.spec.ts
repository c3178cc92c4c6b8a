import { expect, test } from "../fixtures";
import { shot } from "./helpers";

// An operator runs a runbook: the confirmation lists each step and what it will change; after
// the run each step is done, the gateway applies it, and the run is listed.
test("run a runbook", async ({ page, stack, signIn }) => {
  await signIn(page, "operator");
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Runbooks" })
    .click();
  await page.getByRole("button", { name: "Run Shed non-critical load" }).click();
  const dialog = page.getByRole("dialog");
  const steps = dialog.getByRole("list", { name: "Steps" }).getByRole("listitem");
  await expect(steps).toHaveCount(2);
  await expect(steps.nth(0)).toContainText("routes.inventory.mode");
  await expect(steps.nth(0)).toContainText("degraded");
  await dialog.getByLabel("Reason").fill("e2e: shed load");
  await shot(page, "runbook-confirm");
  await dialog.getByRole("button", { name: "Run runbook" }).click();
  await expect(dialog.getByRole("status").first()).toContainText("every step done");
  await expect(steps.nth(0).locator(".badge").filter({ hasText: "Done" })).toBeVisible();
  await expect(steps.nth(1).locator(".badge").filter({ hasText: "Done" })).toBeVisible();
  await expect(dialog.getByText(/Applied by gateway at revision \d+/)).toBeVisible({
    timeout: 15_000,
  });
  await shot(page, "runbook-done");
  await expect
    .poll(async () => (await stack.gatewayState()).routes.inventory?.mode)
    .toBe("degraded");
  await dialog.getByRole("button", { name: "Close" }).click();
  const run = page
    .getByRole("region", { name: "Recent runs" })
    .getByRole("row")
    .filter({ hasText: "degrade-non-critical" });
  await expect(run.first()).toContainText("e2e: shed load");

  // Put the routes back through the live overrides.
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Controls" })
    .click();
  const overrides = page.getByRole("region", { name: "Live overrides" });
  for (const route of ["inventory", "search"]) {
    const row = overrides.getByRole("row").filter({ hasText: `routes.${route}.mode` });
    await row.getByRole("button", { name: "Clear" }).click();
    await row.getByLabel(/Reason to clear/).fill("e2e: restore");
    await row.getByRole("button", { name: "Confirm" }).click();
    await expect(
      overrides.getByRole("row").filter({ hasText: `routes.${route}.mode` }),
    ).toHaveCount(0);
  }
  await expect.poll(async () => (await stack.gatewayState()).routes.inventory?.mode).toBe("normal");
});
