import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startDemoUpstream } from "./demo-upstream";
import type { DemoUpstream } from "./demo-upstream";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

const agent = new http.Agent({ keepAlive: true });

function request(
  port: number,
  path: string,
  init: {
    method?: string;
    body?: string;
    headers?: http.OutgoingHttpHeaders;
    timeoutMs?: number;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: init.method ?? "GET", headers: init.headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    if (init.timeoutMs) {
      req.setTimeout(init.timeoutMs, () =>
        req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
      );
    }
    req.on("error", reject);
    req.end(init.body);
  });
}

function control(demo: DemoUpstream, method: string, path: string, body?: unknown): Promise<Reply> {
  return request(demo.controlPort, path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { "content-type": "application/json" },
  });
}

let demo: DemoUpstream;
let payA: number;
let payB: number;
let inventory: number;

beforeEach(async () => {
  demo = await startDemoUpstream({
    services: { payments: { ports: [0, 0] }, inventory: { ports: [0], cacheable: true } },
  });
  [payA = 0, payB = 0] = demo.services.payments?.ports ?? [];
  inventory = demo.services.inventory?.ports[0] ?? 0;
});

afterEach(async () => {
  await demo.close();
});

describe("healthy services", () => {
  it("answers health and API paths with small JSON and a per-service counter", async () => {
    const health = await request(payA, "/health");
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: "ok", service: "payments", port: payA });

    const first = await request(payA, "/api/payments/42?x=1", {
      headers: { "x-request-id": "r-1" },
    });
    expect(first.status).toBe(200);
    expect(first.headers.connection).toBe("keep-alive");
    expect(demo.stats("payments")).toMatchObject({ requests: 2, healthChecks: 1 });
    expect(first.json()).toMatchObject({
      service: "payments",
      method: "GET",
      path: "/api/payments/42?x=1",
      port: payA,
      count: 2,
      requestId: "r-1",
    });
    const second = await request(payB, "/api/payments/43");
    expect(second.json()).toMatchObject({ port: payB, count: 3 });
  });

  it("echoes POST bodies", async () => {
    const res = await request(payA, "/api/payments", {
      method: "POST",
      body: JSON.stringify({ amount: 12 }),
      headers: { "content-type": "application/json" },
    });
    expect(res.json()).toMatchObject({ method: "POST", body: { amount: 12 } });
    const plain = await request(payA, "/api/payments", { method: "POST", body: "hello" });
    expect(plain.json()).toMatchObject({ body: "hello" });
  });

  it("marks cacheable services' GETs fresh for a second with a validator", async () => {
    const res = await request(inventory, "/api/inventory/items");
    expect(res.headers["cache-control"]).toBe("max-age=1");
    const etag = res.headers.etag;
    expect(etag).toMatch(/^W\/"[0-9a-f]{16}"$/);
    const revalidated = await request(inventory, "/api/inventory/items", {
      headers: { "if-none-match": etag },
    });
    expect(revalidated.status).toBe(304);
    expect((await request(inventory, "/api/inventory/other")).headers.etag).not.toBe(etag);
    const uncacheable = await request(payA, "/api/payments/1");
    expect(uncacheable.headers["cache-control"]).toBeUndefined();
    expect(uncacheable.headers.etag).toBeUndefined();
  });
});

describe("behaviour over the control API", () => {
  it("injects errors with the chosen status and counts them", async () => {
    const put = await control(demo, "PUT", "/services/payments/behaviour", {
      errorRate: 1,
      errorStatus: 503,
    });
    expect(put.status).toBe(200);
    expect((await request(payA, "/api/payments/1")).status).toBe(503);
    expect((await request(payB, "/api/payments/1", { method: "POST", body: "{}" })).status).toBe(
      503,
    );

    const stats = (await control(demo, "GET", "/services/payments/stats")).json();
    expect(stats).toMatchObject({
      requests: 2,
      byMethod: { GET: 1, POST: 1 },
      byPort: { [payA]: 1, [payB]: 1 },
      byStatus: { "503": 2 },
    });
  });

  it("replays the same error draws for the same seed", async () => {
    const run = async () => {
      await control(demo, "PUT", "/services/payments/behaviour", { errorRate: 0.5, seed: 7 });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await request(payA, "/api/payments")).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    const errors = first.filter((s) => s === 500).length;
    expect(errors).toBeGreaterThan(8);
    expect(errors).toBeLessThan(32);
  });

  it("applies a per-port behaviour to that port only, until the service's is replaced", async () => {
    await control(demo, "PUT", `/services/payments/behaviour?port=${payA}`, { errorRate: 1 });
    expect((await request(payA, "/api/payments")).status).toBe(500);
    expect((await request(payB, "/api/payments")).status).toBe(200);
    const state = (await control(demo, "GET", "/services")).json() as {
      services: Record<string, { portBehaviours: Record<string, unknown> }>;
    };
    expect(Object.keys(state.services.payments?.portBehaviours ?? {})).toEqual([String(payA)]);

    await control(demo, "PUT", "/services/payments/behaviour", {});
    expect((await request(payA, "/api/payments")).status).toBe(200);
  });

  it("delays answers by latencyMs", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { latencyMs: 150 });
    const started = performance.now();
    expect((await request(payA, "/api/payments")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("hangs without answering", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { hangRate: 1 });
    await expect(request(payA, "/api/payments", { timeoutMs: 150 })).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    expect(demo.stats("payments").byFault).toEqual({ hang: 1 });
  });

  it("resets the connection before answering", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { resetRate: 1 });
    await expect(request(payA, "/api/payments")).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("truncates a body after announcing its full length", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { truncateRate: 1 });
    await expect(request(payA, "/api/payments")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(demo.stats("payments").byFault).toEqual({ truncate: 1 });
  });

  it("rate limits with Retry-After", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", {
      rateLimitRate: 1,
      retryAfterSeconds: 3,
    });
    const res = await request(payA, "/api/payments");
    expect(res.status).toBe(429);
    expect(res.headers["retry-after"]).toBe("3");
  });

  it("sends a header the client's parser rejects", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { invalidHeaderRate: 1 });
    await expect(request(payA, "/api/payments")).rejects.toMatchObject({
      code: "HPE_INVALID_HEADER_TOKEN",
    });
  });

  it("goes down (connection refused) and comes back on the same port", async () => {
    await control(demo, "PUT", `/services/payments/behaviour?port=${payA}`, { down: true });
    await expect(request(payA, "/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await request(payB, "/health")).status).toBe(200);
    await control(demo, "PUT", `/services/payments/behaviour?port=${payA}`, { down: false });
    expect((await request(payA, "/health")).status).toBe(200);
  });

  it("POST /reset makes everything healthy and zeroes the counters", async () => {
    await control(demo, "PUT", "/services/payments/behaviour", { down: true });
    await control(demo, "PUT", "/services/inventory/behaviour", { errorRate: 1 });
    await request(inventory, "/api/inventory");
    const reset = await control(demo, "POST", "/reset");
    expect(reset.status).toBe(200);
    expect((await request(payA, "/health")).status).toBe(200);
    expect((await request(inventory, "/api/inventory")).status).toBe(200);
    expect(demo.stats("inventory")).toMatchObject({ requests: 1, byStatus: { "200": 1 } });
    expect(demo.stats("payments").requests).toBe(1);
  });

  it("refuses invalid behaviours and unknown services", async () => {
    const bad = await control(demo, "PUT", "/services/payments/behaviour", {
      errorRate: 2,
      colour: "red",
    });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toContain("errorRate: expected 0..1");
    expect(bad.json().error).toContain("colour: unknown key");
    expect((await control(demo, "PUT", "/services/nope/behaviour", {})).status).toBe(404);
    expect((await control(demo, "PUT", "/services/payments/behaviour?port=1", {})).status).toBe(
      404,
    );
    expect((await request(payA, "/api/payments")).status).toBe(200);
  });

  it("close() releases requests left hanging", async () => {
    await demo.setBehaviour("payments", { hangRate: 1 });
    const pending = request(payA, "/api/payments");
    await expect.poll(() => demo.stats("payments").byFault.hang).toBe(1);
    await demo.close();
    await expect(pending).rejects.toMatchObject({ code: "ECONNRESET" });
    demo = await startDemoUpstream({ services: {} });
  });
});

describe("WebSockets", () => {
  function connect(port: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/demo`);
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) =>
        reject(
          Object.assign(new Error("refused"), { status: res.statusCode, headers: res.headers }),
        ),
      );
      ws.once("error", reject);
    });
  }

  it("echoes messages on any path and counts the handshake", async () => {
    const ws = await connect(payA);
    const back = new Promise<string>((r) => ws.once("message", (d: Buffer) => r(d.toString())));
    ws.send("hello");
    expect(await back).toBe("hello");
    expect(demo.stats("payments")).toMatchObject({ requests: 1, byStatus: { "101": 1 } });
    ws.close();
  });

  it("refuses handshakes as the behaviour says, and close() ends open WebSockets", async () => {
    await demo.setBehaviour("payments", { errorRate: 1, errorStatus: 503 });
    await expect(connect(payA)).rejects.toMatchObject({ status: 503 });
    await demo.setBehaviour("payments", { rateLimitRate: 1, retryAfterSeconds: 7 });
    await expect(connect(payA)).rejects.toMatchObject({
      status: 429,
      headers: { "retry-after": "7" },
    });
    await demo.setBehaviour("payments", {});
    const ws = await connect(payB);
    const closed = new Promise<number>((r) => ws.once("close", (code: number) => r(code)));
    await demo.close();
    expect(await closed).toBe(1006);
    demo = await startDemoUpstream({ services: {} });
  });
});
