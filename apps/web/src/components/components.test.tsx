// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { BreakerBadge, ModeBadge } from "./badges";
import { BreakerStrip } from "./breaker-strip";
import { DiffTable } from "./diff-table";

afterEach(cleanup);

describe("badges", () => {
  it("say the state in words next to an icon, never by colour alone", () => {
    render(<BreakerBadge state="forced_open" />);
    const badge = screen.getByText("Forced open");
    expect(badge.className).toContain("tone-bad");
    expect(badge.querySelector("[aria-hidden=true]")?.textContent).toBe("⊘");
    render(<ModeBadge mode="read_only" />);
    expect(screen.getByText("Read-only")).toBeTruthy();
  });
});

describe("DiffTable", () => {
  it("lists each changed leaf with its full path", () => {
    render(
      <DiffTable
        basePath="upstreams.payments.circuitBreaker"
        before={{ failureRateThreshold: 50, minimumCalls: 20 }}
        after={{ failureRateThreshold: 40, minimumCalls: 20 }}
      />,
    );
    const rows = screen.getAllByRole("row");
    expect(rows).toHaveLength(2);
    expect(rows[1]!.textContent).toBe("upstreams.payments.circuitBreaker.failureRateThreshold5040");
  });

  it("says so when nothing changes", () => {
    render(<DiffTable before={{ a: 1 }} after={{ a: 1 }} />);
    expect(screen.getByText("No change.")).toBeTruthy();
  });
});

describe("BreakerStrip", () => {
  it("describes the states over time for screen readers and in the legend", () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    render(
      <BreakerStrip
        from={t0}
        to={t0 + 60_000}
        spans={[
          { from: t0, to: t0 + 20_000, state: "closed" },
          { from: t0 + 20_000, to: t0 + 60_000, state: "open" },
        ]}
      />,
    );
    const img = screen.getByRole("img");
    expect(img.getAttribute("aria-label")).toBe(
      "Breaker state over time: Closed 12:00:00–12:00:20, Open 12:00:20–12:01:00",
    );
    expect(screen.getByText(/Open$/)).toBeTruthy();
  });
});
