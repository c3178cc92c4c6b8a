import { describe, expect, it } from "vitest";
import { FakeClock } from "../../testing";
import { policyValue } from "./headers";
import { TokenBucketLimiter } from "./token-bucket";

function bucket(limit: number, burst = 0, windowMs = 1000) {
  const clock = new FakeClock();
  const limiter = new TokenBucketLimiter(
    { tier: "default", limit, burst, windowMs, policy: policyValue("default", limit, windowMs) },
    clock,
  );
  return { clock, limiter };
}

const allowedRun = (limiter: TokenBucketLimiter, key: string, n: number) =>
  Array.from({ length: n }, () => limiter.check(key).allowed);

describe("TokenBucketLimiter", () => {
  it("allows exactly `limit` at once, then refuses with the time to the next token", () => {
    const { limiter } = bucket(5);
    const decisions = Array.from({ length: 6 }, () => limiter.check("alice"));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(decisions[4]).toMatchObject({ resetMs: 1000, retryAfterMs: 0, limit: 5 });
    expect(decisions[5]).toMatchObject({ resetMs: 1000, retryAfterMs: 200, tier: "default" });
  });

  it("admits the next request exactly when its token has refilled", () => {
    const { limiter, clock } = bucket(5);
    allowedRun(limiter, "alice", 5);
    clock.advance(199);
    expect(limiter.check("alice")).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.advance(1);
    expect(limiter.check("alice").allowed).toBe(true);
    expect(limiter.check("alice").allowed).toBe(false);
  });

  it("is whole again one window after being emptied", () => {
    const { limiter, clock } = bucket(5);
    allowedRun(limiter, "alice", 6);
    clock.advance(1000);
    expect(allowedRun(limiter, "alice", 6)).toEqual([true, true, true, true, true, false]);
  });

  it("lets a burst through at once, then only the rate", () => {
    const { limiter, clock } = bucket(2, 3);
    expect(allowedRun(limiter, "alice", 6)).toEqual([true, true, true, true, true, false]);
    clock.advance(1000); // refills `limit` tokens, not the burst
    expect(allowedRun(limiter, "alice", 3)).toEqual([true, true, false]);
    clock.advance(2500); // quiet long enough to refill all 5
    expect(allowedRun(limiter, "alice", 6)).toEqual([true, true, true, true, true, false]);
  });

  it("keeps consumers apart", () => {
    const { limiter } = bucket(2);
    expect(allowedRun(limiter, "alice", 3)).toEqual([true, true, false]);
    expect(allowedRun(limiter, "bob", 3)).toEqual([true, true, false]);
  });

  it("grants a raised capacity at once", () => {
    const { limiter } = bucket(2);
    allowedRun(limiter, "alice", 2);
    limiter.setLimits({ tier: "default", limit: 4, burst: 1, windowMs: 1000, policy: "" });
    expect(allowedRun(limiter, "alice", 4)).toEqual([true, true, true, false]);
  });

  it("clamps saved tokens when the limits are lowered", () => {
    const { limiter } = bucket(10);
    limiter.check("alice");
    limiter.setLimits({ tier: "default", limit: 2, burst: 0, windowMs: 1000, policy: "" });
    expect(allowedRun(limiter, "alice", 3)).toEqual([true, true, false]);
  });

  it("forgets idle consumers once many buckets exist", () => {
    const { limiter, clock } = bucket(1);
    for (let i = 0; i < 10_000; i++) limiter.check(`c${i}`);
    clock.advance(1000);
    limiter.check("late");
    expect(limiter.size).toBe(1);
  });
});
