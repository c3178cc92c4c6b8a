import { expect, test } from "../fixtures";
import { shot } from "./helpers";

// An operator lowers the payments breaker's failure-rate threshold: the form validates as
// they type, shows the diff, and reports when the gateway serves the new revision.
test("change a threshold and see the gateway apply it", async ({ page, stack, signIn }) => {
  await signIn(page, "operator");
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Controls" })
    .click();
  const section = page.getByRole("region", { name: "Thresholds and timeouts" });
  await section.getByLabel("Setting group").selectOption("breaker");
  await section.getByLabel("Upstream").selectOption("payments");
  const field = section.getByLabel(/Failure-rate threshold/);
  await expect(field).toHaveValue("50");

  // Out of range: refused inline, nothing can be applied.
  await field.fill("150");
  await expect(section.getByText(/Too big|less than or equal to 100|<=\s*100/i)).toBeVisible();
  await expect(field).toHaveAttribute("aria-invalid", "true");
  await section.getByLabel("Reason").fill("tighter breaker for the payments drill");
  await expect(section.getByRole("button", { name: "Apply change" })).toBeDisabled();

  await field.fill("40");
  const diff = section.getByRole("table");
  await expect(
    diff
      .getByRole("row")
      .filter({ hasText: "upstreams.payments.circuitBreaker.failureRateThreshold" }),
  ).toContainText("50");
  await expect(diff.getByRole("row").filter({ hasText: "failureRateThreshold" })).toContainText(
    "40",
  );
  await shot(page, "controls-threshold-diff");
  await section.getByRole("button", { name: "Apply change" }).click();
  await expect(section.getByRole("status")).toContainText(/Applied by gateway at revision \d+/, {
    timeout: 15_000,
  });
  await shot(page, "controls-threshold-applied");

  // The gateway's own state agrees.
  await expect
    .poll(
      async () =>
        (await stack.gatewayState()).upstreams.payments?.breakers[0]?.thresholds
          .failureRateThreshold,
    )
    .toBe(40);

  // Undo through the live overrides list.
  const overrides = page.getByRole("region", { name: "Live overrides" });
  const row = overrides.getByRole("row").filter({ hasText: "upstreams.payments.circuitBreaker" });
  await row.getByRole("button", { name: "Clear" }).click();
  await row.getByLabel(/Reason to clear/).fill("drill over");
  await row.getByRole("button", { name: "Confirm" }).click();
  await expect(
    overrides.getByRole("row").filter({ hasText: "upstreams.payments.circuitBreaker" }),
  ).toHaveCount(0);
  await expect
    .poll(
      async () =>
        (await stack.gatewayState()).upstreams.payments?.breakers[0]?.thresholds
          .failureRateThreshold,
    )
    .toBe(50);

  // The audit log has both, with before → after.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  // The editor wrote the one field that changed, so that is the audited target.
  await page
    .getByLabel("Target")
    .selectOption("upstreams.payments.circuitBreaker.failureRateThreshold");
  await expect(
    page.getByRole("row").filter({ hasText: "tighter breaker for the payments drill" }),
  ).toContainText("40");
  await shot(page, "audit-filtered");
});
