import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  clearOverride,
  configSources,
  effectiveConfig,
  lastValidConfig,
  seedBootstrapConfig,
  setMode,
  setOverride,
} from "../src/index";
import { bootstrapInput, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const by = { actor: "alice", role: "operator", reason: "drill" };
const T0 = 1_800_000_000_000;

/** payments with endpoints a and b. */
function withB(): Record<string, unknown> {
  const input = bootstrapInput() as { upstreams: { payments: { endpoints: object } } };
  input.upstreams.payments.endpoints = {
    a: { url: "http://127.0.0.1:4101" },
    b: { url: "http://127.0.0.1:4102" },
  };
  return input;
}

/** Drain b, then redeploy a bootstrap without it: the weight override no longer validates. */
function decommission(): void {
  seedBootstrapConfig(t.store, withB(), "v1.yaml", T0);
  setMode(t.store, { scope: "gateway", mode: "degraded", ...by, now: T0 + 1000 });
  clearOverride(t.store, { path: "gateway.mode", ...by, now: T0 + 2000 });
  setOverride(t.store, {
    path: "upstreams.payments.endpoints.b.weight",
    value: 0,
    ...by,
    now: T0 + 3000,
  });
  seedBootstrapConfig(t.store, bootstrapInput(), "v2.yaml", T0 + 4000);
}

describe("lastValidConfig", () => {
  it("is the current config while it validates", () => {
    seedBootstrapConfig(t.store, withB(), "v1.yaml", T0);
    setMode(t.store, { scope: "gateway", mode: "degraded", ...by, now: T0 + 1000 });
    const last = lastValidConfig(t.store, T0 + 5000)!;
    expect(last).toMatchObject({ from: T0 + 1000, until: null, source: "history" });
    expect(last.config.gateway.mode).toBe("degraded");
  });

  it("walks back to the state before the change that broke the config", () => {
    decommission();
    expect("issues" in effectiveConfig(t.store, T0 + 5000)).toBe(true);
    const last = lastValidConfig(t.store, T0 + 5000)!;
    expect(last).toMatchObject({ from: T0 + 3000, until: T0 + 4000, source: "history" });
    // The old bootstrap with the drain, without the mode override cleared before it.
    expect(last.config.upstreams.payments!.endpoints.b!.weight).toBe(0);
    expect(last.config.gateway.mode).toBe("normal");
  });

  it("falls back to the newest bootstrap alone when no recent state validates", () => {
    decommission();
    const last = lastValidConfig(t.store, T0 + 5000, 1)!;
    expect(last).toMatchObject({ from: T0 + 4000, until: T0 + 4000, source: "bootstrap" });
    expect(Object.keys(last.config.upstreams.payments!.endpoints)).toEqual(["a"]);
  });

  it("is null without a bootstrap config", () => {
    expect(lastValidConfig(t.store, T0)).toBeNull();
  });
});

describe("configSources", () => {
  it("returns the bootstrap as written and the live overrides even when they do not validate", () => {
    decommission();
    const s = configSources(t.store, T0 + 5000);
    expect(s.bootstrap).toEqual(bootstrapInput());
    expect(s.overrides.map((o) => [o.path, o.value])).toEqual([
      ["upstreams.payments.endpoints.b.weight", 0],
    ]);
    expect(s.revision).toBe(effectiveConfig(t.store, T0 + 5000).revision);
  });
});
