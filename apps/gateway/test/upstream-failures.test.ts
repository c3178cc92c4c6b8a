/** How the gateway behaves when upstreams misbehave at the transport level. */
import net from "node:net";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResilienceRuntime } from "@rg/core";
import type { Gateway } from "../src/gateway";
import {
  closedPort,
  gatewayFor,
  raw,
  request,
  startUpstream,
  statusOf,
  trackUncaught,
  uncaught,
  until,
  upstreamConfig,
  type TestUpstream,
} from "./harness";

trackUncaught();

let plain: TestUpstream;
let flaky: TestUpstream;
let big: TestUpstream;
let cutter: TestUpstream;
/** The upstream side of `/cutter/stream`, held open until the test lets it finish. */
let streaming: http.ServerResponse | undefined;
let rawServer: net.Server;
let rawPort: number;
let gw: Gateway;
let flakyCalls = 0;
const BIG = 8 * 1024 * 1024;

beforeAll(async () => {
  plain = await startUpstream((req, res) => {
    if (req.url?.startsWith("/reset/")) {
      // Announce 100 kB, send part of it, then drop the connection.
      res.writeHead(200, { "content-length": "100000" });
      res.write("x".repeat(20_000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (req.url?.startsWith("/hang/")) return; // never answers
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  flaky = await startUpstream((_req, res) => {
    flakyCalls++;
    if (flakyCalls % 2 === 1) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("first attempt fails");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("second attempt wins");
  });
  big = await startUpstream((_req, res) => {
    res.writeHead(200, {
      "content-length": String(BIG),
      "content-type": "application/octet-stream",
    });
    const chunk = Buffer.alloc(64 * 1024, 120);
    let sent = 0;
    const pump = () => {
      while (sent < BIG) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => {
      sent = BIG;
    });
    pump();
  });
  cutter = await startUpstream((req, res) => {
    if (req.url === "/cut") {
      // Headers and a tenth of the body, then the connection drops.
      res.writeHead(200, { "content-length": "1000" });
      res.write("x".repeat(100), () => res.socket?.destroy());
      return;
    }
    if (req.url === "/stream") {
      // Half the body now, the rest when the test says.
      res.writeHead(200, { "content-length": "200" });
      res.write("y".repeat(100));
      streaming = res;
      return;
    }
    res.writeHead(200, { "content-length": "5" });
    res.end("whole");
  });
  rawServer = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => {
      s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBad Header: x\r\n\r\nok");
    });
  });
  await new Promise<void>((r) => rawServer.listen(0, "127.0.0.1", r));
  rawPort = (rawServer.address() as net.AddressInfo).port;
  const refused = await closedPort();

  const fast = { timeouts: { connectMs: 500, perTryMs: 300, totalMs: 2000 } };
  gw = await gatewayFor({
    upstreams: {
      plain: upstreamConfig(plain.url),
      flaky: upstreamConfig(flaky.url),
      big: upstreamConfig(big.url),
      cutter: upstreamConfig(cutter.url, {
        circuitBreaker: { minimumCalls: 100, consecutiveFailures: 3 },
        outlierDetection: { enabled: false },
      }),
      bad: upstreamConfig(`http://127.0.0.1:${rawPort}`),
      refused: upstreamConfig(`http://127.0.0.1:${refused}`, {
        circuitBreaker: { minimumCalls: 100, consecutiveFailures: 0 },
      }),
    },
    routes: {
      plain: {
        match: { pathPrefix: "/plain" },
        upstream: "plain",
        stripPrefix: true,
        ...fast,
        retry: { maxAttempts: 1 },
      },
      flaky: {
        match: { pathPrefix: "/flaky" },
        upstream: "flaky",
        ...fast,
        retry: { maxAttempts: 2, baseDelayMs: 1 },
      },
      big: { match: { pathPrefix: "/big" }, upstream: "big", ...fast },
      cutter: {
        match: { pathPrefix: "/cutter" },
        upstream: "cutter",
        stripPrefix: true,
        ...fast,
        retry: { maxAttempts: 1 },
      },
      bad: { match: { pathPrefix: "/bad" }, upstream: "bad", ...fast, retry: { maxAttempts: 1 } },
      refused: {
        match: { pathPrefix: "/refused" },
        upstream: "refused",
        ...fast,
        retry: { maxAttempts: 1 },
      },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([plain?.close(), flaky?.close(), big?.close(), cutter?.close()]);
  await new Promise<void>((r) => rawServer?.close(() => r()));
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

describe("upstream transport failures", () => {
  it("answers fast when the connection is refused, and the breaker counts it", async () => {
    const started = Date.now();
    const r = await request(`${gw.url}/refused/x`);
    expect(Date.now() - started).toBeLessThan(500);
    expect([502, 503]).toContain(r.status);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_UPSTREAM_UNAVAILABLE" });
    const breaker = gw.runtime.snapshot().upstreams.refused!.breakers[0]!;
    expect(breaker.window.failures).toBeGreaterThanOrEqual(1);
  });

  it("aborts the client connection when the upstream resets mid-body (never a clean short body)", async () => {
    const r = await raw(gw.port, "GET /plain/reset/1 HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
    expect(statusOf(r.text)).toBe(200);
    expect(r.closed).toBe(true);
    const body = r.text.slice(r.text.indexOf("\r\n\r\n") + 4);
    expect(body.length).toBeLessThan(100_000);
  });

  it("counts an answer cut off mid-body as a failure of its upstream, and one the client left as nothing", async () => {
    const window = () => gw.runtime.snapshot().upstreams.cutter!.breakers[0]!.window;
    const state = () => gw.runtime.snapshot().upstreams.cutter!.breakers[0]!.state;
    // A whole answer passes.
    expect((await request(`${gw.url}/cutter/whole`)).body).toBe("whole");
    expect(window()).toMatchObject({ calls: 1, failures: 0 });

    // A client that leaves mid-body says nothing about the upstream.
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${gw.url}/cutter/stream`, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve(res.statusCode ?? 0);
        });
      });
      req.on("error", () => {});
      req.on("timeout", () => reject(new Error("no answer")));
    });
    expect(r).toBe(200);
    await until(() => streaming?.destroyed === true || streaming?.writableEnded === true, 2000);
    expect(window()).toMatchObject({ calls: 1, failures: 0 });

    // 200 and a tenth of the body, then a reset: each is a failure, and three in a row open
    // the breaker (consecutiveFailures 3), as three 5xx would.
    for (let i = 1; i <= 3; i++) {
      const cut = await raw(gw.port, "GET /cutter/cut HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
      expect(statusOf(cut.text)).toBe(200);
      expect(cut.closed).toBe(true);
      if (i < 3) expect(window()).toMatchObject({ calls: 1 + i, failures: i });
    }
    await until(() => state() === "open", 2000);
    // The SLIs agree: the whole answer and the one the client left were successes, the three
    // cut ones connect errors that spend the error budget.
    const sli = (gw.runtime as unknown as ResilienceRuntime).sli.window("cutter", "cutter", "5m");
    expect(sli.byOutcome).toMatchObject({ success: 2, connect_error: 3 });
    expect(sli.bad).toBe(3);
    const refused = await request(`${gw.url}/cutter/whole`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: "RG_BREAKER_OPEN" });
  });

  it("answers 504 at the per-try timeout when the upstream hangs", async () => {
    const started = Date.now();
    const r = await request(`${gw.url}/plain/hang/1`);
    const ms = Date.now() - started;
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_UPSTREAM_TIMEOUT" });
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1500);
  });

  it("answers 502 to an invalid upstream header and keeps serving", async () => {
    const r = await request(`${gw.url}/bad/x`);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_BAD_UPSTREAM_RESPONSE" });
    const ok = await request(`${gw.url}/plain/ok`);
    expect(ok.status).toBe(200);
  });

  it("never half-sends a retriable 5xx: the retry's answer is the only one the client sees", async () => {
    flakyCalls = 0;
    const r = await request(`${gw.url}/flaky/x`);
    expect(r.status).toBe(200);
    expect(r.body).toBe("second attempt wins");
    expect(flakyCalls).toBe(2);
  });
});

describe("request bodies and retries", () => {
  it("replays a buffered body on the retry of a request with an Idempotency-Key", async () => {
    flakyCalls = 0;
    const seenBefore = flaky.requests.length;
    const r = await request(`${gw.url}/flaky/pay`, {
      method: "POST",
      body: "payload-1",
      headers: { "idempotency-key": "abc", "content-type": "text/plain" },
    });
    expect(r.status).toBe(200);
    const seen = flaky.requests.slice(seenBefore);
    expect(seen.map((q) => q.body)).toEqual(["payload-1", "payload-1"]);
  });

  it("streams a body above retryBodyBytes once and does not retry it", async () => {
    flakyCalls = 0;
    const seenBefore = flaky.requests.length;
    const big = "y".repeat(1_100_000);
    const r = await request(`${gw.url}/flaky/upload`, {
      method: "PUT",
      body: big,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(r.status).toBe(500);
    const seen = flaky.requests.slice(seenBefore);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body.length).toBe(big.length);
  });
});

describe("client aborts", () => {
  it("1,000 clients aborting large downloads free the upstream sockets and memory", async () => {
    const baseline = process.memoryUsage().rss;
    const total = 1000;
    const concurrency = 50;
    let started = 0;
    let aborted = 0;
    const deadline = Date.now() + 60_000;
    const one = () =>
      new Promise<void>((resolve) => {
        const req = http.get(`${gw.url}/big/file`, { agent: false }, (res) => {
          res.once("data", () => {
            req.destroy();
            aborted++;
            resolve();
          });
          res.on("error", () => {});
        });
        req.on("error", () => resolve());
      });
    const workers = Array.from({ length: concurrency }, async () => {
      while (started < total && Date.now() < deadline) {
        started++;
        await one();
      }
    });
    await Promise.all(workers);
    expect(aborted).toBe(total);
    // Every aborted download's upstream connection is closed, not left streaming.
    await until(() => big.sockets.size === 0, 10_000);
    await until(() => gw.inFlight() === 0, 5000);
    const grown = (process.memoryUsage().rss - baseline) / 1024 / 1024;
    expect(grown).toBeLessThan(200);
  }, 90_000);
});
