/** Active health checks against real endpoints on loopback: what passes, what fails. */
import http, { type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "@rg/core";
import { HealthChecker, type HealthTarget } from "../src/health/health-checker";
import { trackUncaught, uncaught, until } from "./harness";

trackUncaught();

/** What each endpoint's /health does, set per test. */
let answer: (res: http.ServerResponse, req: http.IncomingMessage) => void;
let server: Server;
let url: string;
let checker: HealthChecker | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => answer(res, req));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => checker?.close());

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

function configFor(endpointUrl: string): Config {
  return loadConfig({
    upstreams: {
      svc: {
        endpoints: { a: { url: endpointUrl } },
        healthCheck: { enabled: true, intervalMs: 100, unhealthyIntervalMs: 100, timeoutMs: 150 },
      },
    },
    routes: { svc: { match: { pathPrefix: "/" }, upstream: "svc" } },
  });
}

/** Start probing `config` and collect every probe's result. */
function probe(config: Config): { passed: boolean; detail: string }[] {
  const results: { passed: boolean; detail: string }[] = [];
  const target: HealthTarget = {
    recordHealthCheck: (_id, passed, detail) => results.push({ passed, detail }),
    healthCheckIntervalMs: () => 20,
  };
  checker = new HealthChecker((upstream) => (upstream === "svc" ? target : undefined));
  checker.restart(config);
  return results;
}

describe("active health checks", () => {
  it("pass a whole answer with an expected status and fail another status", async () => {
    let status = 200;
    answer = (res) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end("ok");
    };
    const results = probe(configFor(url));
    await until(() => results.length >= 2);
    status = 503;
    await until(() => results.some((r) => !r.passed));
    expect(results[0]).toEqual({
      passed: true,
      detail: expect.stringMatching(/^HTTP 200 in \d+ ms$/),
    });
    expect(results.find((r) => !r.passed)).toEqual({
      passed: false,
      detail: "unexpected HTTP 503",
    });
  });

  it("fail an endpoint that sends its headers and then stalls, and keep probing it", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    };
    const results = probe(configFor(url));
    // Every probe fails at timeoutMs; none is stuck behind the stalled one before it.
    await until(() => results.length >= 3, 5000);
    expect(results.slice(0, 3)).toEqual(
      Array(3).fill({ passed: false, detail: "timed out after 150 ms" }),
    );
  });

  it("fail an answer cut off mid-body", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.socket?.destroy());
    };
    const results = probe(configFor(url));
    await until(() => results.length >= 2);
    expect(results.slice(0, 2)).toEqual(Array(2).fill({ passed: false, detail: "ECONNRESET" }));
  });

  it("fail a probe that cannot be sent instead of throwing out of its timer", async () => {
    // The schema refuses https endpoints; a config that got past it still must not crash.
    const config = configFor(url);
    config.upstreams.svc!.endpoints.a!.url = url.replace("http:", "https:");
    const results = probe(config);
    await until(() => results.length >= 2);
    expect(results.slice(0, 2)).toEqual(
      Array(2).fill({ passed: false, detail: "ERR_INVALID_PROTOCOL" }),
    );
    expect(uncaught.exceptions).toBe(0);
  });

  it("refuse a config whose probe would leave its endpoint, and keep the probes running", async () => {
    const results = probe(configFor(url));
    answer = (res) => res.end("ok");
    await until(() => results.length >= 1);
    const bad = configFor(url);
    // Past the schema: a URL parser reads `\\` as `/`, so this names another host.
    bad.upstreams.svc!.healthCheck.path = "/\\other.test/health";
    expect(() => checker!.restart(bad)).toThrow(
      `upstreams.svc.healthCheck.path "/\\\\other.test/health" on endpoint a (${url}): resolves to another host (other.test)`,
    );
    const seen = results.length;
    await until(() => results.length >= seen + 2);
    expect(results.every((r) => r.passed)).toBe(true);
  });

  it("keep probing every endpoint when the target of one throws", async () => {
    answer = (res) => res.end("ok");
    const config = loadConfig({
      upstreams: Object.fromEntries(
        ["svc", "broken", "gone"].map((id) => [
          id,
          {
            endpoints: { a: { url } },
            healthCheck: { enabled: true, intervalMs: 100, timeoutMs: 150 },
          },
        ]),
      ),
      routes: { svc: { match: { pathPrefix: "/" }, upstream: "svc" } },
    });
    const passed: string[] = [];
    let brokenCalls = 0;
    let goneCalls = 0;
    checker = new HealthChecker((upstream) => {
      if (upstream === "gone") {
        goneCalls++;
        throw new Error("no such upstream");
      }
      if (upstream === "broken")
        return {
          recordHealthCheck: () => {
            brokenCalls++;
            throw new Error("record failed");
          },
          healthCheckIntervalMs: () => {
            throw new Error("interval failed");
          },
        };
      return {
        recordHealthCheck: (_id, ok) => void (ok && passed.push(upstream)),
        healthCheckIntervalMs: () => 20,
      };
    });
    checker.restart(config);
    // Each goes on at its interval: neither failing one stops itself or the others.
    await until(() => brokenCalls >= 2 && goneCalls >= 2 && passed.length >= 4, 5000);
    expect(uncaught.exceptions).toBe(0);
  });

  it("probe upstreams on the same host and port without one waiting for the other", async () => {
    // `slow` answers its path after 300 ms; `fast` answers at once and must within 150 ms.
    answer = (res, req) => {
      if (req.url === "/slow") setTimeout(() => res.end("ok"), 300);
      else res.end("ok");
    };
    const check = (path: string, timeoutMs: number) => ({
      endpoints: { a: { url } },
      healthCheck: { enabled: true, path, intervalMs: 100, timeoutMs },
    });
    const config = loadConfig({
      upstreams: { slow: check("/slow", 1000), fast: check("/fast", 150) },
      routes: { svc: { match: { pathPrefix: "/" }, upstream: "fast" } },
    });
    const results: Record<string, { passed: boolean; detail: string }[]> = { slow: [], fast: [] };
    checker = new HealthChecker((upstream) => ({
      recordHealthCheck: (_id, passed, detail) => results[upstream]!.push({ passed, detail }),
      healthCheckIntervalMs: () => 20,
    }));
    checker.restart(config);
    await until(() => results.slow!.length >= 3, 5000);
    expect(results.slow!.every((r) => r.passed)).toBe(true);
    expect(results.fast!.length).toBeGreaterThan(3);
    expect(results.fast!.filter((r) => !r.passed)).toEqual([]);
  });

  it("hold at most one socket per probe and close them on restart and close", async () => {
    answer = (res) => res.end("ok");
    const open = new Set<Socket>();
    let opened = 0;
    const track = (s: Socket) => {
      opened++;
      open.add(s);
      s.on("close", () => open.delete(s));
    };
    server.on("connection", track);
    try {
      const results = probe(configFor(url));
      await until(() => results.length >= 3);
      // Keep-alive: the probes of one endpoint reuse one connection.
      expect(opened).toBe(1);
      for (let i = 0; i < 3; i++) {
        const seen = results.length;
        checker!.restart(configFor(url));
        await until(() => results.length >= seen + 2);
        // The restart closed the previous probe's socket; the new probe opened one.
        await until(() => open.size === 1);
        expect(opened).toBe(2 + i);
      }
      checker!.close();
      await until(() => open.size === 0);
    } finally {
      server.off("connection", track);
    }
  });
});
