/**
 * Gradual traffic shift of a route to another upstream (`route.shift`). A change ramps
 * linearly over `durationMs` from the share in effect at the moment of the change to the new
 * share, so raising 20% → 50% does not first drop to 0%. Removing the shift stops it at once.
 */
import type { RouteConfig } from "../config/schema";

type ShiftConfig = NonNullable<RouteConfig["shift"]>;

export class TrafficShift {
  private to: string | undefined;
  private fromPercent = 0;
  private toPercent = 0;
  private durationMs = 0;
  private startedAt = 0;

  /** Apply the route's shift config at monotonic time `now`. Unchanged config keeps the ramp. */
  update(config: ShiftConfig | undefined, now: number): void {
    if (!config) {
      this.to = undefined;
      this.fromPercent = this.toPercent = 0;
      return;
    }
    if (
      config.to === this.to &&
      config.percent === this.toPercent &&
      config.durationMs === this.durationMs
    )
      return;
    this.fromPercent = config.to === this.to ? this.percent(now) : 0;
    this.to = config.to;
    this.toPercent = config.percent;
    this.durationMs = config.durationMs;
    this.startedAt = now;
  }

  /** Target upstream of the shift, if any. */
  get target(): string | undefined {
    return this.to;
  }

  /** Share of requests (0–100) sent to the shift target at monotonic time `now`. */
  percent(now: number): number {
    if (this.to === undefined) return 0;
    if (this.durationMs <= 0) return this.toPercent;
    const progress = Math.min(1, Math.max(0, (now - this.startedAt) / this.durationMs));
    return this.fromPercent + (this.toPercent - this.fromPercent) * progress;
  }
}
