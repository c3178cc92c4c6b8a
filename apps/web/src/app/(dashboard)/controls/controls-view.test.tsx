// @vitest-environment jsdom
/** The Controls page, wired to the real router and store, while the stored config does not validate. */
import { effectiveConfig, seedBootstrapConfig } from "@rg/db";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTestEnv, TEST_NOW, testConfig, type TestEnv } from "~/server/testing/harness";
import { renderView } from "../view-harness";
import { ControlsView } from "./controls-view";

vi.mock("next/link", () => ({
  default: ({ href, children }: { href: string; children: ReactNode }) => (
    <a href={href}>{children}</a>
  ),
}));

let env: TestEnv | undefined;
afterEach(() => {
  cleanup();
  env?.close();
});

describe("Controls while a live override no longer fits the redeployed bootstrap file", () => {
  it("names it in a banner, marks it with why, and clears it with a reason", async () => {
    env = await createTestEnv();
    await env.caller("operator", { now: () => TEST_NOW - 60_000 }).controls.shiftTraffic({
      route: "catalog",
      to: "catalog-backup",
      percent: 50,
      durationMs: 0,
      reason: "drill",
    });
    const next = structuredClone(testConfig) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    delete next.upstreams!["catalog-backup"];
    delete next.routes!.catalog!.fallback;
    seedBootstrapConfig(env.store, next, "test.yaml", TEST_NOW - 30_000);

    renderView(env, "operator", <ControlsView />);
    const banner = await screen.findByRole("alert", {
      name: "The stored config does not validate",
    });
    expect(banner.textContent).toMatch(/routes\.catalog\.shift: routes\.catalog\.shift\.to: /);
    expect(banner.textContent).toContain("other changes are refused");
    expect(banner.textContent).toContain("The controls below show the last valid config");
    // The other controls are there, built from the last valid config.
    expect(screen.getByRole("region", { name: "Force a breaker" })).toBeTruthy();

    const overrides = screen.getByRole("region", { name: "Live overrides" });
    const row = within(overrides)
      .getAllByRole("row")
      .find((r) => r.textContent?.includes("routes.catalog.shift"))!;
    expect(row.textContent).toMatch(/No longer validates: routes\.catalog\.shift\.to: /);
    fireEvent.click(within(row).getByRole("button", { name: "Clear" }));
    fireEvent.change(within(row).getByLabelText(/Reason to clear/), {
      target: { value: "backup removed" },
    });
    fireEvent.click(within(row).getByRole("button", { name: "Confirm" }));

    await waitFor(() =>
      expect(
        screen.queryByRole("alert", { name: "The stored config does not validate" }),
      ).toBeNull(),
    );
    expect("config" in effectiveConfig(env.store, TEST_NOW)).toBe(true);
    expect(screen.getByRole("region", { name: "Live overrides" }).textContent).not.toContain(
      "routes.catalog.shift",
    );
  });
});
