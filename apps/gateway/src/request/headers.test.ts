import { describe, expect, it } from "vitest";
import type { IncomingHttpHeaders } from "node:http";
import { filterRawResponseHeaders, stripHopByHop } from "./headers";

describe("hop-by-hop stripping", () => {
  it("removes connection-specific fields and those Connection names", () => {
    const h: IncomingHttpHeaders = {
      connection: "keep-alive, x-secret",
      "keep-alive": "timeout=5",
      "x-secret": "1",
      te: "trailers",
      trailer: "x",
      "transfer-encoding": "chunked",
      upgrade: "h2c",
      "proxy-authorization": "basic x",
      "proxy-foo": "y",
      accept: "*/*",
    };
    stripHopByHop(h);
    expect(h).toEqual({ accept: "*/*" });
  });

  it("filters raw response headers, keeping order and repeated fields", () => {
    const raw = [
      "Content-Type",
      "text/plain",
      "Connection",
      "close, X-Hop",
      "X-Hop",
      "1",
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
      "Transfer-Encoding",
      "chunked",
      "Keep-Alive",
      "timeout=5",
    ];
    expect(filterRawResponseHeaders(raw)).toEqual([
      "Content-Type",
      "text/plain",
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
    ]);
  });

  it("drops fields the gateway replaces, named in its own name/value list", () => {
    expect(
      filterRawResponseHeaders(
        ["X-Request-Id", "up-1", "Content-Type", "a/b", "gw-1", "value-not-a-name"],
        ["x-request-id", "gw-1", "cache-status", "content-type-is-a-value"],
      ),
    ).toEqual(["Content-Type", "a/b", "gw-1", "value-not-a-name"]);
  });

  it("makes request ids that are unique version 8 UUIDs", async () => {
    const { newRequestId } = await import("./headers");
    const ids = new Set(Array.from({ length: 10_000 }, () => newRequestId()));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 100))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("quotes a Forwarded host that is not a token", async () => {
    const { prepareUpstreamHeaders } = await import("./headers");
    const req = {
      headers: { host: "gw.test:8080" } as IncomingHttpHeaders,
      socket: { remoteAddress: "::1" },
    } as unknown as Parameters<typeof prepareUpstreamHeaders>[0];
    prepareUpstreamHeaders(req, "id-1");
    expect(req.headers.forwarded).toBe('for="[::1]";host="gw.test:8080";proto=http');
    expect(req.headers["x-forwarded-for"]).toBe("::1");
    expect(req.headers["x-request-id"]).toBe("id-1");
  });
});
