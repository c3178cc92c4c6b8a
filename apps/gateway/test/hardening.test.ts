/** Server hardening on the traffic port, with raw sockets for requests clients would never send. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../src/gateway";
import {
  gatewayFor,
  raw,
  request,
  startUpstream,
  statusOf,
  trackUncaught,
  uncaught,
  upstreamConfig,
  type TestUpstream,
} from "./harness";

trackUncaught();

let up: TestUpstream;
let gw: Gateway;

beforeAll(async () => {
  up = await startUpstream((req, res, body) => {
    res.writeHead(200, {
      "content-type": "application/json",
      connection: "keep-alive, x-hop",
      "x-hop": "secret",
      "keep-alive": "timeout=10",
      "proxy-authenticate": "Basic",
      "x-kept": "yes",
      "x-request-id": "set-by-upstream",
    });
    res.end(JSON.stringify({ url: req.url, body }));
  });
  gw = await gatewayFor({
    gateway: {
      limits: {
        maxHeaderBytes: 2048,
        headersTimeoutMs: 300,
        requestTimeoutMs: 5000,
        maxBodyBytes: 1000,
        retryBodyBytes: 500,
      },
      forwarded: { xForwardedHost: true, rfc7239: true },
    },
    upstreams: { svc: upstreamConfig(up.url) },
    routes: { api: { match: { pathPrefix: "/api" }, upstream: "svc" } },
  });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

function seen(path: string) {
  return up.requests.filter((r) => r.url === path).length;
}

describe("request smuggling guards", () => {
  it("refuses Transfer-Encoding together with Content-Length; nothing reaches the upstream", async () => {
    const r = await raw(
      gw.port,
      "POST /api/smuggle1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    expect(statusOf(r.text)).toBe(400);
    expect(r.text).toContain("application/problem+json");
    expect(seen("/api/smuggle1")).toBe(0);
  });

  it.each([
    ["Transfer-Encoding: xchunked"],
    ["Transfer-Encoding: chunked, identity"],
    ["Transfer-Encoding : chunked"],
    ["Transfer-Encoding:\u000bchunked"],
  ])("refuses an obfuscated %j", async (te) => {
    const r = await raw(
      gw.port,
      `POST /api/smuggle2 HTTP/1.1\r\nHost: x\r\n${te}\r\n\r\n0\r\n\r\n`,
    );
    expect(statusOf(r.text)).toBe(400);
    expect(seen("/api/smuggle2")).toBe(0);
  });

  it("refuses two Transfer-Encoding lines", async () => {
    const r = await raw(
      gw.port,
      "POST /api/smuggle3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    expect(statusOf(r.text)).toBe(400);
    expect(seen("/api/smuggle3")).toBe(0);
  });
});

describe("limits", () => {
  it("answers 431 to oversize headers", async () => {
    const r = await raw(
      gw.port,
      `GET /api/big HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(4096)}\r\n\r\n`,
    );
    expect(statusOf(r.text)).toBe(431);
    expect(r.text).toContain("headers-too-large");
    expect(seen("/api/big")).toBe(0);
  });

  it("answers 400 to an invalid header name and to a bad request target", async () => {
    const a = await raw(gw.port, "GET /api/bad HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
    expect(statusOf(a.text)).toBe(400);
    const b = await raw(gw.port, "GET api/no-slash HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(statusOf(b.text)).toBe(400);
    expect(seen("/api/bad")).toBe(0);
  });

  it("closes a slowloris connection with 408 once headersTimeout passes", async () => {
    const net = await import("node:net");
    const started = Date.now();
    const result = await new Promise<{ text: string; ms: number }>((resolve) => {
      const s = net.connect(gw.port, "127.0.0.1");
      const chunks: Buffer[] = [];
      const head = "GET /api/slow HTTP/1.1\r\nHost: x\r\nX-Drip: ";
      let i = 0;
      const drip = setInterval(() => {
        if (s.writable) s.write(head[i % head.length] ?? "a");
        i++;
      }, 50);
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("error", () => {});
      s.on("close", () => {
        clearInterval(drip);
        resolve({ text: Buffer.concat(chunks).toString(), ms: Date.now() - started });
      });
      setTimeout(() => s.destroy(), 8000);
    });
    expect(statusOf(result.text)).toBe(408);
    // headersTimeout is 300 ms here; Node checks it on a period of a quarter of that.
    expect(result.ms).toBeLessThan(3000);
  });

  it("answers 413 to a declared body above the cap without forwarding it", async () => {
    const r = await request(`${gw.url}/api/large`, { method: "POST", body: "x".repeat(2000) });
    expect(r.status).toBe(413);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(seen("/api/large")).toBe(0);
  });

  it("answers 413 to a chunked body that grows past the cap", async () => {
    const chunk = "x".repeat(300);
    const body =
      Array.from({ length: 5 }, () => `${(300).toString(16)}\r\n${chunk}\r\n`).join("") +
      "0\r\n\r\n";
    const r = await raw(
      gw.port,
      `PUT /api/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(statusOf(r.text)).toBe(413);
    // The client's oversize body is not held against the upstream.
    expect(gw.runtime.snapshot().upstreams.svc!.breakers[0]!.window.failures).toBe(0);
  });

  it("forwards bodies under the cap", async () => {
    const r = await request(`${gw.url}/api/echo`, { method: "POST", body: "hello" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ url: "/api/echo", body: "hello" });
  });
});

describe("headers", () => {
  it("strips hop-by-hop headers both ways and passes request id and traceparent", async () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const r = await raw(
      gw.port,
      "GET /api/hop HTTP/1.1\r\nHost: gw.test\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\n" +
        `Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic abc\r\nUpgrade-Insecure-Requests: 1\r\ntraceparent: ${tp}\r\n` +
        "X-Request-Id: req-123\r\n\r\n",
      1500,
    );
    expect(statusOf(r.text)).toBe(200);
    const got = up.requests.find((q) => q.url === "/api/hop")!;
    expect(got.headers["x-client-hop"]).toBeUndefined();
    expect(got.headers["te"]).toBeUndefined();
    expect(got.headers["proxy-authorization"]).toBeUndefined();
    expect(got.headers["keep-alive"]).toBeUndefined();
    expect(got.headers["traceparent"]).toBe(tp);
    expect(got.headers["x-request-id"]).toBe("req-123");
    expect(got.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(got.headers["x-forwarded-host"]).toBe("gw.test");
    expect(got.headers["forwarded"]).toBe("for=127.0.0.1;host=gw.test;proto=http");
    expect(got.headers["x-request-deadline-ms"]).toMatch(/^\d+$/);
    const head = r.text.split("\r\n\r\n")[0]!.toLowerCase();
    expect(head).toContain("x-kept: yes");
    expect(head).toContain("x-request-id: req-123");
    expect(head.match(/x-request-id:/g)).toHaveLength(1);
    expect(head).not.toContain("x-hop");
    expect(head).not.toContain("proxy-authenticate");
    expect(head).not.toContain("keep-alive: timeout=10");
  });

  it("generates a request id when absent and returns it", async () => {
    const r = await request(`${gw.url}/api/id`);
    const id = r.headers["x-request-id"] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.requests.find((q) => q.url === "/api/id")!.headers["x-request-id"]).toBe(id);
  });

  it("answers an unknown route with a 404 problem", async () => {
    const r = await request(`${gw.url}/nothing/here`, { headers: { "x-request-id": "abc" } });
    expect(r.status).toBe(404);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    const p = JSON.parse(r.body) as Record<string, unknown>;
    expect(p).toMatchObject({
      status: 404,
      code: "RG_ROUTE_NOT_FOUND",
      type: "https://resilience-gateway.dev/problems/route-not-found",
      requestId: "abc",
    });
  });
});
