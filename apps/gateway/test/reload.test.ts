/**
 * Config revisions applied under traffic: while an operator changes thresholds, pool sizes,
 * timeouts, endpoints and another route's mode, every request already on its way finishes
 * and none is lost, repeated or refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResilienceEvent } from "@rg/core";
import { openStore, setOverride, type Store } from "@rg/db";
import type { Gateway } from "../src/gateway";
import {
  gatewayFor,
  request,
  startUpstream,
  trackUncaught,
  uncaught,
  until,
  type TestUpstream,
} from "./harness";

trackUncaught();

let dir: string;
let a: TestUpstream;
let b: TestUpstream;
let c: TestUpstream;
let gw: Gateway;
let operator: Store;
const events: ResilienceEvent[] = [];

/** Answers after a few milliseconds, so that changes land while requests are in flight. */
const answer = (name: string) => (_req: unknown, res: ServerResponse, body: string) => {
  setTimeout(() => res.end(`${name}:${body}`), 1 + Math.floor(Math.random() * 4));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rg-gw-reload-"));
  a = await startUpstream(answer("a"));
  b = await startUpstream(answer("b"));
  c = await startUpstream(answer("c"));
  gw = await gatewayFor(
    {
      upstreams: {
        api: { endpoints: { one: { url: a.url } } },
        other: { endpoints: { one: { url: b.url } } },
      },
      routes: {
        api: { match: { pathPrefix: "/api" }, upstream: "api" },
        other: { match: { pathPrefix: "/other" }, upstream: "other" },
      },
    },
    { storePath: join(dir, "gateway.db"), instanceId: "gw-reload" },
  );
  gw.bus.on((e) => events.push(e));
  operator = openStore(join(dir, "gateway.db"));
});

afterAll(async () => {
  await gw?.close();
  operator?.close();
  await a?.close();
  await b?.close();
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

describe("config revisions under traffic", () => {
  it("loses, repeats and refuses nothing while revisions are applied", async () => {
    const changes: { path: string; value: unknown }[] = [
      { path: "upstreams.api.circuitBreaker.failureRateThreshold", value: 40 },
      { path: "upstreams.api.endpoints.one.url", value: c.url },
      { path: "routes.api.timeouts.perTryMs", value: 4000 },
      { path: "upstreams.api.maxSockets", value: 4 },
      { path: "upstreams.api.bulkhead.maxConcurrent", value: 64 },
      { path: "routes.other.mode", value: "read_only" },
      { path: "upstreams.api.endpoints.two", value: { url: a.url } },
      { path: "upstreams.api.endpoints.one.url", value: a.url },
      { path: "routes.api.retry.maxAttempts", value: 1 },
      { path: "upstreams.api.endpoints.two", value: undefined },
      { path: "upstreams.api.maxSockets", value: 64 },
      { path: "routes.other.mode", value: "normal" },
    ];

    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const bodies = new Set<string>();
    // Bounded in count and time, with room to outlast the changes on a fast machine (400 per
    // worker ran out before the twelfth change here at about 500 req/s).
    const deadline = Date.now() + 60_000;
    const worker = async (w: number) => {
      // It stops once the changes are done.
      for (let i = 0; i < 4000 && !stop && Date.now() < deadline; i++) {
        const body = `w${w}-${i}`;
        sent++;
        const r = await request(`${gw.url}/api/pay`, { method: "POST", body });
        if (r.status !== 200 || !r.body.endsWith(`:${body}`))
          failures.push(`${body}: ${r.status} ${r.body.slice(0, 200)}`);
        else bodies.add(body);
      }
    };
    const traffic = Promise.all([0, 1, 2, 3, 4, 5].map(worker));

    // Each change is written by the operator and waited for until the gateway serves it,
    // with traffic running throughout.
    await until(() => sent >= 30, 5000, 5);
    let applied = 0;
    for (const c of changes) {
      const r = setOverride(operator, {
        ...c,
        actor: "alice",
        role: "operator",
        reason: "change under traffic",
      });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      await until(() => gw.revision() === r.revision, 3000, 5);
      applied++;
      const before = sent;
      await until(() => sent >= before + 10, 5000, 5);
    }
    stop = true;
    await traffic;

    expect(applied).toBe(changes.length);
    expect(failures).toEqual([]);
    expect(bodies.size).toBe(sent);
    // Each POST reached an upstream exactly once: none retried elsewhere after a cut, none lost.
    const seen = [...a.requests, ...b.requests, ...c.requests].filter((r) => r.method === "POST");
    expect(seen).toHaveLength(sent);
    expect(new Set(seen.map((r) => r.body)).size).toBe(sent);
    // Both addresses served while the endpoint moved between them.
    expect(a.requests.length).toBeGreaterThan(0);
    expect(c.requests.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "config.refused")).toEqual([]);
    // The pool at c's address was retired when the endpoint moved back to a: its sockets are
    // closed once their requests are done.
    await until(() => c.sockets.size === 0, 2000);
  });
});
