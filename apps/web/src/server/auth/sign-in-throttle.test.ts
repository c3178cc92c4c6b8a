import { describe, expect, it } from "vitest";
import { createSignInThrottle } from "./sign-in-throttle";

describe("sign-in throttle", () => {
  it("allows max attempts in any window and says when the oldest one leaves it", () => {
    let now = 1_000_000;
    const t = createSignInThrottle({ max: 2, windowS: 60, now: () => now });
    expect(t.attempt("a")).toEqual({ ok: true });
    now += 30_000;
    expect(t.attempt("a")).toEqual({ ok: true });
    expect(t.attempt("a")).toEqual({ ok: false, retryAfterS: 30 });
    expect(t.attempt("b")).toEqual({ ok: true });
    now += 30_000;
    // The first attempt has left the window; refused attempts were not counted.
    expect(t.attempt("a")).toEqual({ ok: true });
    expect(t.attempt("a")).toEqual({ ok: false, retryAfterS: 30 });
    t.succeeded("a");
    expect(t.attempt("a")).toEqual({ ok: true });
  });

  it("forgets the least recently attempted keys beyond maxKeys, never the one attempted now", () => {
    const now = 1_000_000;
    const t = createSignInThrottle({ max: 1, windowS: 60, now: () => now, maxKeys: 2 });
    expect(t.attempt("a").ok).toBe(true);
    expect(t.attempt("b").ok).toBe(true);
    expect(t.attempt("a").ok).toBe(false); // a is now the most recent
    expect(t.attempt("c").ok).toBe(true); // evicts b
    expect(t.attempt("a").ok).toBe(false);
    expect(t.attempt("b").ok).toBe(true);
  });

  it("with max 0 refuses every attempt for the window", () => {
    const t = createSignInThrottle({ max: 0, windowS: 60, now: () => 5 });
    expect(t.attempt("a")).toEqual({ ok: false, retryAfterS: 60 });
  });
});
