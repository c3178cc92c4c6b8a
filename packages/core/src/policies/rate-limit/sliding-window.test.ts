import { describe, expect, it } from "vitest";
import { FakeClock } from "../../testing";
import { policyValue } from "./headers";
import { SlidingWindowLimiter } from "./sliding-window";

function limiter(limit: number, windowMs = 1000) {
  // FakeClock's wall time starts on a whole second, so window 0 begins at t = 0.
  const clock = new FakeClock();
  const sw = new SlidingWindowLimiter(
    { tier: "default", limit, burst: 0, windowMs, policy: policyValue("default", limit, windowMs) },
    clock,
    "test",
  );
  return { clock, sw };
}

async function run(sw: SlidingWindowLimiter, key: string, n: number) {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await sw.consume(key)).allowed);
  return out;
}

describe("SlidingWindowLimiter (weighted two-window approximation)", () => {
  it("allows exactly `limit` in a window and tells when the next fits", async () => {
    const { sw } = limiter(10);
    expect(await run(sw, "alice", 10)).toEqual(Array(10).fill(true));
    const refused = await sw.consume("alice");
    // Next window at f = 0.1: 10 × 0.9 + 1 = 10 fits; earlier it does not.
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 1100, limit: 10 });
  });

  it("weighs the previous window by how much of it still overlaps", async () => {
    const { sw, clock } = limiter(10);
    await run(sw, "alice", 10);
    clock.advance(1000); // f = 0: the previous window still counts fully
    expect(await run(sw, "alice", 1)).toEqual([false]);
    clock.advance(99);
    expect(await run(sw, "alice", 1)).toEqual([false]);
    clock.advance(1); // f = 0.1 → 9 + 1
    expect(await run(sw, "alice", 2)).toEqual([true, false]);
    clock.advance(400); // f = 0.5 → 5 + 1 + 4 more
    const d = await sw.consume("alice");
    expect(d).toMatchObject({ allowed: true, remaining: 3, resetMs: 500 });
    expect(await run(sw, "alice", 4)).toEqual([true, true, true, false]);
  });

  it("computes the wait inside the current window when the fading share suffices", async () => {
    const { sw, clock } = limiter(10);
    await run(sw, "alice", 10);
    clock.advance(1200); // f = 0.2: 8 + current
    expect(await run(sw, "alice", 2)).toEqual([true, true]);
    const refused = await sw.consume("alice");
    // 10 × (1 − f') + 2 + 1 ≤ 10 ⇔ f' ≥ 0.3 → 100 ms more
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 100 });
    clock.advance(100);
    expect(await run(sw, "alice", 2)).toEqual([true, false]);
  });

  it("does not count refused requests", async () => {
    const { sw, clock } = limiter(3);
    await run(sw, "alice", 3);
    await run(sw, "alice", 50);
    clock.advance(2000); // two windows on: nothing overlaps any more
    expect(await run(sw, "alice", 4)).toEqual([true, true, true, false]);
  });

  it("keeps consumers apart", async () => {
    const { sw } = limiter(1);
    expect(await run(sw, "alice", 2)).toEqual([true, false]);
    expect(await run(sw, "bob", 2)).toEqual([true, false]);
  });

  it("enforces one limit across limiters sharing a store (as gateway instances sharing Redis)", async () => {
    const clock = new FakeClock();
    const limits = { tier: "default", limit: 4, burst: 0, windowMs: 1000, policy: "" };
    const shared = SlidingWindowLimiter.memoryStore("shared", 1000);
    const one = new SlidingWindowLimiter(limits, clock, "unused", shared);
    const two = new SlidingWindowLimiter(limits, clock, "unused", shared);
    const out = [];
    for (const l of [one, two, one, two, one, two]) out.push((await l.consume("alice")).allowed);
    expect(out).toEqual([true, true, true, true, false, false]);
  });
});
