import { describe, expect, it } from "vitest";
import { retryBudgetSchema, retrySchema } from "../../config/schema";
import { classify } from "../../outcome";
import { FakeClock, SequenceRandom } from "../../testing";
import { RetryBudget, decideRetry } from "../retry";
import { Deadline, attemptTimeoutMs } from "./deadline";

describe("Deadline", () => {
  it("shrinks its remaining budget with the clock and never goes below 0", () => {
    const clock = new FakeClock(1000);
    const d = Deadline.start(clock, 500);
    expect(d.at).toBe(1500);
    expect(d.totalMs).toBe(500);
    expect(d.remainingMs()).toBe(500);
    clock.advance(200);
    expect(d.remainingMs()).toBe(300);
    expect(d.expired()).toBe(false);
    clock.advance(299);
    expect(d.remainingMs()).toBe(1);
    expect(d.expired()).toBe(false);
    clock.advance(1);
    expect(d.remainingMs()).toBe(0);
    expect(d.expired()).toBe(true);
    clock.advance(1000);
    expect(d.remainingMs()).toBe(0);
  });

  it("limits each attempt to the per-try timeout or what is left, whichever is less", () => {
    const clock = new FakeClock();
    const d = Deadline.start(clock, 12_000);
    expect(attemptTimeoutMs(5000, d)).toBe(5000);
    clock.advance(9000);
    expect(attemptTimeoutMs(5000, d)).toBe(3000);
    clock.advance(5000);
    expect(attemptTimeoutMs(5000, d)).toBe(0);
  });

  it("stops retrying once the backoff no longer fits in the deadline", () => {
    const clock = new FakeClock();
    const deadline = Deadline.start(clock, 1000);
    const budget = new RetryBudget(retryBudgetSchema.parse({}));
    // Ceilings 200, 400, 800 ms; the draw of 0.9 waits 180, 360, 720 ms.
    const config = retrySchema.parse({
      maxAttempts: 10,
      baseDelayMs: 200,
      maxDelayMs: 5000,
      multiplier: 2,
    });
    const random = new SequenceRandom([0.9]);
    const ATTEMPT_MS = 100;
    const waits: number[] = [];
    let attempt = 1;
    for (;;) {
      clock.advance(attemptTimeoutMs(ATTEMPT_MS, deadline));
      const decision = decideRetry({
        attempt,
        outcome: classify({ status: 502, durationMs: ATTEMPT_MS }),
        config,
        retryable: true,
        deadlineRemainingMs: deadline.remainingMs(),
        breakerOpen: false,
        budget,
        random,
      });
      if (!decision.retry) {
        expect(decision.reason).toBe("deadline");
        break;
      }
      budget.retryFinished();
      waits.push(decision.delayMs);
      clock.advance(decision.delayMs);
      attempt++;
    }
    // Attempt 1 ends at 100, wait 180; attempt 2 ends at 380, wait 360; attempt 3 ends at
    // 840 with 160 ms left, and the next wait of 720 ms does not fit.
    expect(waits).toEqual([180, 360]);
    expect(attempt).toBe(3);
    expect(clock.now()).toBe(840);
    expect(budget.stats()).toMatchObject({ retrying: 0, exhausted: 0 });
  });
});
