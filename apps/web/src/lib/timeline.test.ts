import { describe, expect, it } from "vitest";
import { buildTimeline, describeChange } from "./timeline";

const breakerOpen = {
  type: "breaker.transition",
  at: 2000,
  upstream: "payments",
  from: "closed",
  to: "open",
  reason: { trigger: "failure_rate", observed: 80, threshold: 50, calls: 20 },
};

describe("buildTimeline", () => {
  it("orders events, operator actions and notes by time and folds per-request noise", () => {
    const view = buildTimeline([
      { at: 5000, kind: "note", id: 1, author: "ann@x", body: "provider confirmed outage" },
      {
        at: 3000,
        kind: "audit",
        id: 7,
        audit: {
          actor: "op@x",
          action: "controls.setMode",
          target: "gateway.mode",
          reason: "stop writes",
          before: "normal",
          after: "read_only",
          outcome: "applied",
        },
      },
      {
        at: 2000,
        kind: "event",
        id: 10,
        event: { type: "breaker.transition", event: breakerOpen },
      },
      { at: 2100, kind: "event", id: 11, event: { type: "breaker.rejected", event: {} } },
      { at: 2200, kind: "event", id: 12, event: { type: "breaker.rejected", event: {} } },
    ]);
    expect(view.rows.map((r) => r.kind)).toEqual(["breaker", "operator", "note"]);
    expect(view.rows[0]!.text).toContain("failure rate 80% ≥ 50% over 20 calls");
    expect(view.rows[1]!.text).toBe(
      "controls.setMode gateway.mode: normal → read_only — “stop writes”",
    );
    expect(view.rows[1]!.by).toBe("op@x");
    expect(view.hidden).toEqual({ "breaker.rejected": 2 });
  });

  it("shows every event when asked", () => {
    const view = buildTimeline(
      [
        {
          at: 1,
          kind: "event",
          id: 1,
          event: {
            type: "retry.scheduled",
            event: { type: "retry.scheduled", attempt: 2, delayMs: 40, after: "http_5xx", at: 1 },
          },
        },
      ],
      true,
    );
    expect(view.rows).toHaveLength(1);
    expect(view.hidden).toEqual({});
  });
});

describe("describeChange", () => {
  it("names only the leaves that moved inside a changed object", () => {
    const before = { enabled: true, minimumCalls: 10, window: { type: "count", size: 50 } };
    const after = { enabled: true, minimumCalls: 20, window: { type: "count", size: 100 } };
    expect(describeChange("upstreams.payments.circuitBreaker", before, after)).toBe(
      "upstreams.payments.circuitBreaker.minimumCalls: 10 → 20; upstreams.payments.circuitBreaker.window.size: 50 → 100",
    );
  });

  it("shows a cleared override as going back to the default and caps long lists", () => {
    expect(describeChange("routes.a.mode", "read_only", undefined)).toBe(
      "routes.a.mode: read_only → (default)",
    );
    const many = Object.fromEntries(["a", "b", "c", "d", "e"].map((k) => [k, 1]));
    const moved = Object.fromEntries(["a", "b", "c", "d", "e"].map((k) => [k, 2]));
    expect(describeChange("x", many, moved)).toBe("x.a: 1 → 2; x.b: 1 → 2; x.c: 1 → 2; +2 more");
  });
});
