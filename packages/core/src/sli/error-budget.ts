/**
 * Error-budget arithmetic for an SLO (pure). The multi-window, multi-burn-rate alert follows
 * the Google SRE workbook ("Alerting on SLOs", recommendation for a 30-day SLO): page when
 * both the 1-hour and the 5-minute burn rates are at or above 14.4, i.e. 2% of a 30-day
 * budget spent in one hour, and the short window shows it is still happening.
 */

export interface ErrorBudget {
  /** Bad events the SLO allows for this many events: (1 − target) · total. */
  allowedBad: number;
  bad: number;
  /**
   * Share of the budget left: 1 untouched, 0 spent, negative when overspent. 1 when no
   * events were seen.
   */
  remainingFraction: number;
}

export function errorBudget(input: { target: number; good: number; total: number }): ErrorBudget {
  const { target, good, total } = input;
  const allowedBad = (1 - target) * total;
  const bad = Math.max(0, total - good);
  if (total === 0) return { allowedBad: 0, bad: 0, remainingFraction: 1 };
  return { allowedBad, bad, remainingFraction: (allowedBad - bad) / allowedBad };
}

/**
 * How fast the budget burns: 1 spends exactly the budget over the SLO window, 14.4 spends a
 * 30-day budget in about two days.
 */
export function burnRate(errorRatio: number, target: number): number {
  return errorRatio / (1 - target);
}

/** Default burn-rate threshold for the 1 h / 5 min page (sloSchema's burnRateAlert). */
export const DEFAULT_BURN_RATE_ALERT = 14.4;
/** The two windows of the alert. */
export const BURN_LONG_WINDOW_MS = 3600_000;
export const BURN_SHORT_WINDOW_MS = 300_000;

/** True when both the long (1 h) and the short (5 min) window burn at or above `threshold`. */
export function shouldAlert(input: {
  longErrorRatio: number;
  shortErrorRatio: number;
  target: number;
  threshold?: number;
}): boolean {
  // 1 − 0.999 is 0.0010000000000000009 in binary floating point: compare with a relative
  // tolerance so a burn rate of exactly the threshold alerts.
  const threshold = (input.threshold ?? DEFAULT_BURN_RATE_ALERT) * (1 - 1e-9);
  return (
    burnRate(input.longErrorRatio, input.target) >= threshold &&
    burnRate(input.shortErrorRatio, input.target) >= threshold
  );
}
