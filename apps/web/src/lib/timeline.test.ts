import { describe, expect, it } from "vitest";
import { buildTimeline } from "./timeline";

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
