import { afterEach, describe, expect, it, vi } from "vitest";
import { EventBus, loadConfig, type Config, type ResilienceEvent } from "@rg/core";
import type { EffectiveConfigResult } from "../telemetry/ports";
import { ControlLoop } from "./control-loop";

const base = loadConfig({
  upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
  routes: { r: { match: { pathPrefix: "/" }, upstream: "a" } },
});

function setup(
  results: EffectiveConfigResult[],
  revisions: number[],
  opts: { apply?: (c: Config, r: number) => void; onError?: (where: string) => void } = {},
) {
  const bus = new EventBus();
  const events: ResilienceEvent[] = [];
  bus.on((e) => events.push(e));
  let current: Config = base;
  const applied: number[] = [];
  let rev = 0;
  let res = 0;
  const loop = new ControlLoop({
    store: {
      currentRevision: () => revisions[Math.min(rev++, revisions.length - 1)]!,
      effectiveConfig: () => results[Math.min(res++, results.length - 1)]!,
      expireOverrides: () => undefined,
    },
    bus,
    wallNow: () => 1000,
    apply: (c, r) => {
      opts.apply?.(c, r);
      current = c;
      applied.push(r);
    },
    current: () => current,
    revision: 1,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return { loop, events, applied, current: () => current };
}

describe("ControlLoop", () => {
  it("applies a new revision and reports mode changes", () => {
    const next = structuredClone(base);
    next.gateway.mode = "read_only";
    next.routes.r!.mode = "degraded";
    const t = setup([{ revision: 2, config: next }], [1, 2, 2]);
    expect(t.loop.poll()).toBe(false);
    expect(t.loop.poll()).toBe(true);
    expect(t.loop.poll()).toBe(false);
    expect(t.applied).toEqual([2]);
    expect(t.events.map((e) => e.type)).toEqual(["config.applied", "mode.changed", "mode.changed"]);
    expect(t.events[1]).toMatchObject({ scope: "gateway", from: "normal", to: "read_only" });
    expect(t.events[2]).toMatchObject({ scope: "route", target: "r", to: "degraded" });
  });

  it("refuses an invalid revision once, keeps the last good config, and applies a later good one", () => {
    const good = structuredClone(base);
    const t = setup(
      [
        { revision: 2, issues: [{ path: "routes.r.retry.maxAttempts", message: "too big" }] },
        { revision: 3, config: good },
      ],
      [2, 2, 3],
    );
    expect(t.loop.poll()).toBe(false);
    expect(t.current()).toBe(base);
    expect(t.events).toEqual([
      {
        type: "config.refused",
        at: 1000,
        revision: 2,
        errors: ["routes.r.retry.maxAttempts: too big"],
      },
    ]);
    expect(t.loop.poll()).toBe(false); // same refused revision: not re-read
    expect(t.loop.poll()).toBe(true);
    expect(t.applied).toEqual([3]);
  });

  it("keeps serving when the store throws, reporting each failing call once", () => {
    const t = setup([], [1]);
    const errors: string[] = [];
    const loop = new ControlLoop({
      onError: (where) => errors.push(where),
      store: {
        currentRevision: () => {
          throw new Error("disk I/O error");
        },
        effectiveConfig: () => {
          throw new Error("x");
        },
        expireOverrides: () => {
          throw new Error("x");
        },
      },
      bus: new EventBus(),
      wallNow: () => 0,
      apply: () => {
        throw new Error("must not apply");
      },
      current: t.current,
      revision: 1,
    });
    expect(loop.poll()).toBe(false);
    expect(loop.poll()).toBe(false);
    expect(() => loop.expire()).not.toThrow();
    expect(() => loop.expire()).not.toThrow();
    expect(errors).toEqual(["currentRevision", "expireOverrides"]);
  });

  it("refuses a revision the runtime cannot take on, once, keeps the last good config, and applies a later good one", () => {
    const errors: string[] = [];
    const bad = structuredClone(base);
    const good = structuredClone(base);
    const t = setup(
      [
        { revision: 2, config: bad },
        { revision: 3, config: good },
      ],
      [2, 2, 3],
      {
        apply: (c) => {
          if (c === bad) throw new Error("route 'r' refers to unknown upstream 'toString'");
        },
        onError: (where) => errors.push(where),
      },
    );
    expect(t.loop.poll()).toBe(false);
    expect(t.current()).toBe(base);
    expect(t.loop.revision).toBe(1);
    expect(t.events).toEqual([
      {
        type: "config.refused",
        at: 1000,
        revision: 2,
        errors: ["not applied: route 'r' refers to unknown upstream 'toString'"],
      },
    ]);
    expect(errors).toEqual(["apply"]);
    expect(t.loop.poll()).toBe(false); // same refused revision: not re-read
    expect(t.loop.poll()).toBe(true);
    expect(t.applied).toEqual([3]);
    expect(t.current()).toBe(good);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("never lets an error out of its timers", () => {
    vi.useFakeTimers();
    const errors: string[] = [];
    let broken = true;
    const loop = new ControlLoop({
      store: {
        currentRevision: () => 2,
        effectiveConfig: () => ({ revision: 2, config: structuredClone(base) }),
        expireOverrides: () => undefined,
      },
      bus: new EventBus(),
      wallNow: () => 1000,
      apply: () => undefined,
      current: () => {
        if (broken) throw new Error("no current config");
        return base;
      },
      revision: 1,
      onError: (where) => errors.push(where),
    });
    loop.start();
    expect(() => vi.advanceTimersByTime(1000)).not.toThrow();
    loop.stop();
    expect(errors).toEqual(["poll"]); // reported once, not every tick
    broken = false;
    expect(loop.poll()).toBe(true);
    expect(loop.revision).toBe(2);
  });
});
