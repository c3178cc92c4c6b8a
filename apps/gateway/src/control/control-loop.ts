/**
 * The control loop: poll the store's revision (a cheap single-row read) every ~200 ms and
 * expire overrides every second. A new revision's effective config is validated by the
 * store (core schema) and applied atomically; an invalid one is refused and reported, and
 * the last good config keeps serving.
 */
import { formatIssues, type Config, type EventBus, type ModeName } from "@rg/core";
import type { ControlStorePort } from "../telemetry/ports";

export interface ControlLoopOptions {
  store: ControlStorePort;
  bus: EventBus;
  wallNow(): number;
  /** Swap the running config; throws only on a programming error. */
  apply(config: Config, revision: number): void;
  current(): Config;
  revision: number;
  pollMs?: number;
  expireMs?: number;
  onError?: (where: string, err: unknown) => void;
}

export function modeChanges(
  before: Config,
  after: Config,
): { scope: "gateway" | "route"; target: string; from: ModeName; to: ModeName }[] {
  const out: { scope: "gateway" | "route"; target: string; from: ModeName; to: ModeName }[] = [];
  if (before.gateway.mode !== after.gateway.mode) {
    out.push({
      scope: "gateway",
      target: "gateway",
      from: before.gateway.mode,
      to: after.gateway.mode,
    });
  }
  for (const [id, r] of Object.entries(after.routes)) {
    const from = before.routes[id]?.mode ?? "normal";
    if (from !== r.mode) out.push({ scope: "route", target: id, from, to: r.mode });
  }
  return out;
}

export class ControlLoop {
  private pollTimer: NodeJS.Timeout | undefined;
  private expireTimer: NodeJS.Timeout | undefined;
  private seen: number;
  private refused = -1;
  /** Store calls currently failing: reported once when they start failing, not every poll. */
  private readonly failing = new Set<string>();

  constructor(private readonly o: ControlLoopOptions) {
    this.seen = o.revision;
  }

  get revision(): number {
    return this.seen;
  }

  start(): void {
    // poll() and expire() catch what they call; a timer callback that threw would still take
    // the process down, so nothing may escape.
    this.pollTimer = setInterval(() => this.poll(), this.o.pollMs ?? 200);
    this.pollTimer.unref();
    this.expireTimer = setInterval(() => this.expire(), this.o.expireMs ?? 1000);
    this.expireTimer.unref();
  }

  private failed(where: string, err: unknown): void {
    if (this.failing.has(where)) return;
    this.failing.add(where);
    this.o.onError?.(where, err);
  }

  stop(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.expireTimer) clearInterval(this.expireTimer);
    this.pollTimer = this.expireTimer = undefined;
  }

  expire(): void {
    try {
      this.o.store.expireOverrides(this.o.wallNow());
      this.failing.delete("expireOverrides");
    } catch (e) {
      this.failed("expireOverrides", e);
    }
  }

  /**
   * Check for a new revision and apply it. Returns true when a config was applied. Never
   * throws: a revision the runtime cannot take on is refused like an invalid one, and the last
   * good config keeps serving.
   */
  poll(): boolean {
    try {
      const applied = this.pollOnce();
      this.failing.delete("poll");
      return applied;
    } catch (e) {
      this.failed("poll", e);
      return false;
    }
  }

  /** Not tried again until a newer revision: recorded as `config.refused`, with why. */
  private refuse(rev: number, revision: number, at: number, errors: string[]): void {
    this.refused = rev;
    this.o.bus.emit({ type: "config.refused", at, revision, errors });
  }

  private pollOnce(): boolean {
    let rev: number;
    try {
      rev = this.o.store.currentRevision();
      this.failing.delete("currentRevision");
    } catch (e) {
      this.failed("currentRevision", e);
      return false;
    }
    if (rev === this.seen || rev === this.refused) return false;
    let r;
    try {
      r = this.o.store.effectiveConfig(this.o.wallNow());
      this.failing.delete("effectiveConfig");
    } catch (e) {
      this.failed("effectiveConfig", e);
      return false;
    }
    const at = this.o.wallNow();
    if (!("config" in r)) {
      this.refuse(rev, r.revision, at, formatIssues(r.issues));
      return false;
    }
    const before = this.o.current();
    try {
      this.o.apply(r.config, r.revision);
    } catch (e) {
      this.refuse(rev, r.revision, at, [
        `not applied: ${e instanceof Error ? e.message : String(e)}`,
      ]);
      this.o.onError?.("apply", e);
      return false;
    }
    this.seen = rev;
    this.o.bus.emit({ type: "config.applied", at, revision: r.revision });
    for (const m of modeChanges(before, r.config)) {
      this.o.bus.emit({
        type: "mode.changed",
        at,
        ...(m.scope === "route" ? { route: m.target } : {}),
        ...m,
      });
    }
    return true;
  }
}
