// @vitest-environment jsdom
import { seedBootstrapConfig } from "@rg/db";
import { cleanup, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTestEnv, TEST_NOW, testConfig, type TestEnv } from "~/server/testing/harness";
import { renderView } from "../view-harness";
import { RunbooksView } from "./runbooks-view";

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

describe("Runbooks while the stored config does not validate", () => {
  it("lists the runbooks of the last valid config and says so", async () => {
    env = await createTestEnv();
    await env.caller("operator", { now: () => TEST_NOW - 60_000 }).controls.shiftWeights({
      upstream: "payments",
      weights: { b: 0 },
      durationMs: 0,
      reason: "drain b",
    });
    const next = structuredClone(testConfig) as {
      upstreams: { payments: { endpoints: Record<string, unknown> } };
    };
    delete next.upstreams.payments.endpoints.b;
    seedBootstrapConfig(env.store, next, "test.yaml", TEST_NOW - 30_000);

    renderView(env, "viewer", <RunbooksView />);
    expect(await screen.findByRole("heading", { name: "Degrade payments" })).toBeTruthy();
    const notice = screen.getByRole("alert");
    expect(notice.textContent).toMatch(
      /^The stored config does not validate \(upstreams\.payments\.endpoints\.b\.url: /,
    );
    expect(notice.textContent).toContain("Shown here is the last valid config, in effect until");
  });
});
