/**
 * Ports through which the core reads time and randomness. Production code passes
 * `systemClock` / `mathRandom`; tests pass `FakeClock` / `SeededRandom` from
 * `@rg/core/testing` so every transition is asserted exactly, without sleeping.
 */

/** A cancel handle returned by {@link Clock.setTimer}. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds, monotonic within a process (not wall time). */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps stored or shown to people. */
  wallNow(): number;
  /** Run `fn` once after `ms` milliseconds. Returns a function that cancels the timer. */
  setTimer(ms: number, fn: () => void): CancelTimer;
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export const mathRandom: Random = { next: () => Math.random() };
