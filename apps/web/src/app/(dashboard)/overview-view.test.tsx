// @vitest-environment jsdom
/** The overview, wired to the real router and store, when no gateway instance reports. */
import { writeSliBuckets, writeSnapshot } from "@rg/db";
import { cleanup, screen, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { paymentsSecond, paymentsSnapshot } from "~/server/api/routers/overview/overview.fixtures";
import { createTestEnv, TEST_NOW, type TestEnv } from "~/server/testing/harness";
import { OverviewView } from "./overview-view";
import { renderView } from "./view-harness";

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

const card = (name: string) =>
  screen.getAllByRole("article").find((a) => within(a).queryByRole("heading", { name }))!;

/** The card's figures as `label value` pairs. */
const figures = (el: HTMLElement) =>
  Object.fromEntries(
    [...el.querySelectorAll("dl.metrics > div")].map((d) => [
      d.querySelector("dt")!.textContent,
      d.querySelector("dd")!.textContent,
    ]),
  );

describe("overview with every gateway instance silent", () => {
  it("says no gateway has reported, does not claim live or normal service, and shows no figures", async () => {
    env = await createTestEnv();
    const crashedAt = TEST_NOW - 180_000;
    writeSnapshot(env.store, paymentsSnapshot("gw-1", crashedAt, "open"));
    const seconds = [];
    for (let s = 240; s > 180; s--) seconds.push(paymentsSecond(TEST_NOW - s * 1000, 0, 20));
    writeSliBuckets(env.store, seconds);

    renderView(env, "operator", <OverviewView />);
    const banner = await screen.findByRole("alert", { name: "Gateways not reporting" });
    expect(banner.textContent).toContain("No gateway has reported for 3 min");
    expect(banner.textContent).toContain("Figures below are the last known and stale");
    const head = document.querySelector(".page-head")!.textContent!;
    expect(head).not.toContain("Live");
    expect(head).toContain("gateways silent");
    const mode = screen.getByRole("region", { name: "Gateway mode" }).textContent!;
    expect(mode).not.toContain("All routes serve traffic normally");
    expect(mode).toContain("no gateway is reporting");

    const payments = card("payments");
    expect(payments.textContent).toMatch(/Open when last reported .*; no gateway reports it now/);
    expect(figures(payments)).toMatchObject({ "req/s": "—", errors: "—", p99: "—" });
    expect(card("catalog").textContent).toContain("No gateway is reporting");
  });
});

describe("overview with a live instance and no traffic", () => {
  it("shows 0 req/s, no error rate or p99, and says it is live", async () => {
    env = await createTestEnv();
    writeSnapshot(env.store, paymentsSnapshot("gw-1", TEST_NOW - 500, "closed"));
    renderView(env, "operator", <OverviewView />);
    await screen.findByRole("region", { name: "Gateway mode" });
    expect(screen.queryByRole("alert", { name: "Gateways not reporting" })).toBeNull();
    expect(document.querySelector(".page-head")!.textContent).toContain("Live · updated");
    expect(screen.getByRole("region", { name: "Gateway mode" }).textContent).toContain(
      "All routes serve traffic normally",
    );
    expect(figures(card("payments"))).toMatchObject({ "req/s": "0", errors: "—", p99: "—" });
  });
});
