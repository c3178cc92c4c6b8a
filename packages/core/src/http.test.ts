import { describe, expect, it } from "vitest";
import { hasDotSegment, isHopByHop } from "./http";

describe("isHopByHop", () => {
  it("names exactly the connection-specific fields and the Proxy-* family", () => {
    for (const n of [
      "connection",
      "keep-alive",
      "te",
      "trailer",
      "transfer-encoding",
      "upgrade",
      "proxy-connection",
      "proxy-authenticate",
      "proxy-authorization",
      "proxy-x",
      "proxy-abcd",
    ])
      expect(isHopByHop(n), n).toBe(true);
    for (const n of [
      "content-type",
      "tee",
      "trailers",
      "x-upgrade",
      "proxy",
      "proxy-",
      "host",
      "date",
    ])
      expect(isHopByHop(n), n).toBe(false);
  });
});

describe("hasDotSegment", () => {
  it("finds dot-segments however they are written, and only whole segments", () => {
    for (const p of [
      "/a/../b",
      "/a/./b",
      "/a/%2e%2E/b",
      "/a/.%2e/b",
      "/a/..%2fb",
      "/a\\..\\b",
      "/a/%2e%2e%5cb",
      "/..",
    ])
      expect(hasDotSegment(p), p).toBe(true);
    for (const p of ["/a/b", "/a/.well-known/x", "/a/..b", "/a/b.c/d", "/a?x=/../", "/%41"])
      expect(hasDotSegment(p), p).toBe(false);
  });
});
