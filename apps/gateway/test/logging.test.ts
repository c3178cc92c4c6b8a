/** Logs: breaker transitions at error/warn with upstream, reason and thresholds; no per-request info lines. */
import { afterAll, describe, expect, it } from "vitest";
import { capturedLogs, closedPort, gatewayFor, request, startUpstream } from "./harness";
import type { Gateway } from "../src/gateway";

const { logger, lines } = capturedLogs("info");
let gw: Gateway | undefined;

afterAll(async () => {
  await gw?.close();
});

describe("logging", () => {
  it("logs a breaker opening at error level with its reason and thresholds", async () => {
    const ok = await startUpstream((_req, res) => res.end("ok"));
    const port = await closedPort();
    gw = await gatewayFor(
      {
        upstreams: {
          down: {
            endpoints: { a: { url: `http://127.0.0.1:${port}` } },
            circuitBreaker: { consecutiveFailures: 2, minimumCalls: 100 },
            outlierDetection: { enabled: false },
          },
          ok: { endpoints: { a: { url: ok.url } } },
        },
        routes: {
          down: { match: { pathPrefix: "/down" }, upstream: "down", retry: { maxAttempts: 1 } },
          ok: { match: { pathPrefix: "/ok" }, upstream: "ok" },
        },
      },
      { logger },
    );
    const before = lines.length;
    for (let i = 0; i < 20; i++) expect((await request(`${gw.url}/ok/x`)).status).toBe(200);
    // Successful requests log nothing at the default level.
    expect(lines.length).toBe(before);
    await request(`${gw.url}/down/x`);
    await request(`${gw.url}/down/x`);
    const open = lines.find((l) => l.to === "open");
    expect(open).toMatchObject({
      level: 50,
      upstream: "down",
      from: "closed",
      reason: { trigger: "consecutive_failures" },
      thresholds: { consecutiveFailures: 2, minimumCalls: 100 },
    });
    await ok.close();
  });
});
