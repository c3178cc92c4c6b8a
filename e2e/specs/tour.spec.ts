import { expect, test } from "../fixtures";
import { shot, traffic } from "./helpers";

// An admin signs in, sees live data on the overview and visits every page.
test("sign in and visit every page", async ({ page, stack, signIn }) => {
  await traffic(stack, { path: "/api/catalog/items", maxRequests: 150, ratePerSec: 150 });
  await signIn(page, "admin");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByText("Role:")).toContainText("admin");
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of [
    "Overview",
    "Upstreams",
    "Controls",
    "Runbooks",
    "Incidents",
    "Audit",
    "Users",
  ])
    await expect(nav.getByRole("link", { name })).toBeVisible();

  // Cards for each upstream; catalog has had traffic.
  const catalog = page
    .getByRole("article")
    .filter({ has: page.getByRole("heading", { name: "catalog", exact: true }) });
  await expect(catalog).toBeVisible();
  await expect(catalog.locator(".badge").filter({ hasText: "Closed" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Gateway mode" })).toContainText("Normal");
  await expect(page.getByRole("heading", { name: "Gateway instances" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "e2e-gateway" })).toBeVisible();
  await shot(page, "overview");

  await nav.getByRole("link", { name: "Upstreams" }).click();
  await expect(page.getByRole("heading", { name: "Upstreams", level: 1 })).toBeVisible();
  await shot(page, "upstreams");

  await page.getByRole("link", { name: "catalog", exact: true }).click();
  await expect(page.getByRole("heading", { name: "catalog", level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Requests by outcome" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Latency p50 / p95 / p99" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Error rate" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Endpoints" })).toBeVisible();
  await page.getByRole("button", { name: "1 h" }).click();
  await expect(page.getByRole("button", { name: "1 h" })).toHaveAttribute("aria-pressed", "true");
  await shot(page, "upstream-detail");

  for (const [link, heading, file] of [
    ["Controls", "Controls", "controls"],
    ["Runbooks", "Runbooks", "runbooks"],
    ["Incidents", "Incidents", "incidents"],
    ["Audit", "Audit log", "audit"],
    ["Users", "Users", "users"],
  ] as const) {
    await nav.getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await shot(page, file);
  }
  await expect(page.getByRole("combobox", { name: "Role of viewer@e2e.test" })).toHaveValue(
    "viewer",
  );

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/sign-in/);
});

test("a wrong password is refused with a message", async ({ page, stack }) => {
  await page.goto(`${stack.webUrl}/sign-in`);
  await page.getByLabel("Email").fill("admin@e2e.test");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "incorrect" })).toHaveText(
    "Email or password is incorrect.",
  );
  await shot(page, "sign-in-error");
});

test("a viewer cannot reach the controls", async ({ page, signIn, stack }) => {
  await signIn(page, "viewer");
  await expect(
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }),
  ).toHaveCount(0);
  await page.goto(`${stack.webUrl}/controls`);
  await expect(page.getByRole("alert").filter({ hasText: "Operators only" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Apply change" })).toHaveCount(0);
  // The overview shows the mode but offers no switch.
  await page.goto(`${stack.webUrl}/`);
  await expect(page.getByRole("region", { name: "Gateway mode" })).toContainText(
    "Operators can change the mode",
  );
  await expect(page.getByRole("button", { name: "Read-only" })).toHaveCount(0);
  await shot(page, "viewer-controls-refused");
});
