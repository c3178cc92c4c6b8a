/**
 * Sign-in attempts per account: at most `max` attempts at one address in any `windowS`
 * seconds, whatever client sends them, so guessing one account's password from many client
 * addresses gains nothing. An attempt is counted when it starts (so concurrent guesses cannot
 * all slip in before the first one fails) and a successful sign-in forgets the account's
 * attempts. Unknown addresses count the same as known ones, so the answer says nothing about
 * which accounts exist.
 */

export interface SignInThrottleOptions {
  max: number;
  windowS: number;
  /** Wall clock (ms), injectable for tests. */
  now: () => number;
  /** Accounts tracked at most; beyond it the least recently attempted are forgotten. */
  maxKeys?: number;
}

export type ThrottleDecision = { ok: true } | { ok: false; retryAfterS: number };

export interface SignInThrottle {
  /** Count an attempt at `key`, or say how long to wait when the limit is reached. */
  attempt(key: string): ThrottleDecision;
  /** The key signed in: its earlier attempts no longer count. */
  succeeded(key: string): void;
}

export function createSignInThrottle(opts: SignInThrottleOptions): SignInThrottle {
  const windowMs = opts.windowS * 1000;
  const maxKeys = opts.maxKeys ?? 100_000;
  /** Start times of the attempts within the window, oldest first; Map order is recency. */
  const attempts = new Map<string, number[]>();

  function prune(now: number): void {
    if (attempts.size < maxKeys) return;
    for (const [key, times] of attempts) {
      if (times[times.length - 1]! <= now - windowMs) attempts.delete(key);
    }
    // Still full: forget the least recently attempted.
    for (const key of attempts.keys()) {
      if (attempts.size < maxKeys) break;
      attempts.delete(key);
    }
  }

  return {
    attempt(key) {
      const now = opts.now();
      const times = (attempts.get(key) ?? []).filter((t) => t > now - windowMs);
      attempts.delete(key);
      if (times.length >= opts.max) {
        attempts.set(key, times);
        const oldest = times[0] ?? now;
        return { ok: false, retryAfterS: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
      }
      prune(now);
      times.push(now);
      attempts.set(key, times);
      return { ok: true };
    },
    succeeded(key) {
      attempts.delete(key);
    },
  };
}
