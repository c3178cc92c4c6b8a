import type { BreakerSnapshot, BreakerState } from "@rg/core";

/** How bad a breaker state is for callers: higher blocks more traffic. */
const SEVERITY: Record<BreakerState, number> = {
  closed: 0,
  shadow: 1,
  forced_closed: 2,
  half_open: 3,
  open: 4,
  forced_open: 5,
};

/** The worst breaker among several (e.g. one per live gateway instance), or undefined. */
export function worstBreaker(breakers: readonly BreakerSnapshot[]): BreakerSnapshot | undefined {
  let worst: BreakerSnapshot | undefined;
  for (const b of breakers) {
    if (
      !worst ||
      SEVERITY[b.state] > SEVERITY[worst.state] ||
      (SEVERITY[b.state] === SEVERITY[worst.state] && b.since < worst.since)
    ) {
      worst = b;
    }
  }
  return worst;
}
