/** Error budget and burn rate as people read them: a text and a tone, never colour alone. */
import type { Tone } from "./breaker";
import { formatBurn, formatPercent } from "./format";

/** `fraction`: 1 untouched, 0 spent, below 0 overspent. */
export function budgetView(fraction: number | null | undefined): {
  text: string;
  /** The figure alone, for tight spaces. */
  short: string;
  tone: Tone;
} {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction))
    return { text: "—", short: "—", tone: "muted" };
  if (fraction <= 0) return { text: "exhausted", short: "spent", tone: "bad" };
  const short = formatPercent(Math.min(1, fraction) * 100);
  const text = `${short} left`;
  if (fraction < 0.25) return { text, short, tone: "bad" };
  if (fraction < 0.5) return { text, short, tone: "warn" };
  return { text, short, tone: "ok" };
}

/** Burn rate against the alert threshold (both windows above it page). */
export function burnView(rate: number, threshold: number): { text: string; tone: Tone } {
  const text = formatBurn(rate);
  if (rate >= threshold) return { text: `${text} ▲`, tone: "bad" };
  if (rate > 1) return { text, tone: "warn" };
  return { text, tone: "ok" };
}
