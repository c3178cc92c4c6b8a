/** Active health checks against real endpoints on loopback: what passes, what fails. */
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "@rg/core";
import { HealthChecker, type HealthTarget } from "../src/health/health-checker";
import { trackUncaught, uncaught, until } from "./harness";

trackUncaught();

/** What each endpoint's /health does, set per test. */
let answer: (res: http.ServerResponse) => void;
let server: Server;
let url: string;
let checker: HealthChecker | undefined;

beforeAll(async () => {
  server = http.createServer((_req, res) => answer(res));
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
});
