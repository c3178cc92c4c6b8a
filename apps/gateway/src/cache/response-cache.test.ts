import { describe, expect, it } from "vitest";
import CachePolicy from "http-cache-semantics";
import { forbidsSharedStore, ResponseCache } from "./response-cache";

const req = { method: "GET", url: "/x", headers: { host: "h" } };

function fill(
  cache: ResponseCache,
  key: string,
  headers: Record<string, string>,
  body: string,
  cap = 1024,
) {
  const c = cache.begin(key, req, 200, headers, () => Object.entries(headers).flat(), cap);
  if (!c) return false;
  c.push(Buffer.from(body));
  c.end(true);
  return true;
}

describe("ResponseCache", () => {
  it("serves a fresh entry and keeps an expired one as stale within maxStale", () => {
    const cache = new ResponseCache(1 << 20);
    expect(fill(cache, "k", { "cache-control": "max-age=60" }, "hello")).toBe(true);
    const hit = cache.lookup("k", req, 1000);
    expect(hit.fresh?.body.toString()).toBe("hello");

    expect(fill(cache, "s", { "cache-control": "max-age=0" }, "old")).toBe(true);
    const s = cache.lookup("s", req, 60_000);
    expect(s.fresh).toBeUndefined();
    expect(s.stale?.body.toString()).toBe("old");
  });

  it("does not store no-store, private or oversize responses", () => {
    const cache = new ResponseCache(1 << 20);
    expect(fill(cache, "a", { "cache-control": "no-store" }, "x")).toBe(false);
    expect(fill(cache, "b", { "cache-control": "private, max-age=60" }, "x")).toBe(false);
    const c = cache.begin("c", req, 200, { "cache-control": "max-age=60" }, () => [], 4);
    c!.push(Buffer.from("12345"));
    c!.end(true);
    expect(cache.lookup("c", req, 0)).toEqual({});
  });

  it("does not store an incomplete body", () => {
    const cache = new ResponseCache(1 << 20);
    const c = cache.begin("k", req, 200, { "cache-control": "max-age=60" }, () => [], 100);
    c!.push(Buffer.from("half"));
    c!.end(false);
    expect(cache.lookup("k", req, 0)).toEqual({});
  });

  it("evicts by bytes", () => {
    const cache = new ResponseCache(3000);
    for (let i = 0; i < 10; i++)
      fill(cache, `k${i}`, { "cache-control": "max-age=60" }, "x".repeat(500));
    expect(cache.bytes).toBeLessThanOrEqual(3000);
    expect(cache.lookup("k9", req, 0).fresh).toBeDefined();
    expect(cache.lookup("k0", req, 0).fresh).toBeUndefined();
  });

  it("matches Vary", () => {
    const cache = new ResponseCache(1 << 20);
    const r1 = { method: "GET", url: "/x", headers: { host: "h", "accept-language": "en" } };
    const c = cache.begin(
      "v",
      r1,
      200,
      { "cache-control": "max-age=60", vary: "accept-language" },
      () => [],
      100,
    );
    c!.push(Buffer.from("en"));
    c!.end(true);
    expect(cache.lookup("v", r1, 0).fresh).toBeDefined();
    expect(
      cache.lookup("v", { ...r1, headers: { host: "h", "accept-language": "de" } }, 60_000),
    ).toEqual({});
  });
});

describe("forbidsSharedStore", () => {
  const storable = (cc: string | undefined) =>
    new CachePolicy(
      req,
      { status: 200, headers: cc === undefined ? {} : { "cache-control": cc } },
      { shared: true },
    ).storable();

  it("refuses what http-cache-semantics refuses for no-store and private", () => {
    for (const cc of ["no-store", "private", "max-age=60, no-store", ' private="set-cookie" ']) {
      expect(forbidsSharedStore(cc), cc).toBe(true);
      expect(storable(cc), cc).toBe(false);
    }
    for (const cc of [
      undefined,
      "max-age=60",
      "public, max-age=60",
      "x-no-store-hint, max-age=9",
      "privateish, no-store-later=1",
    ]) {
      expect(forbidsSharedStore(cc), String(cc)).toBe(false);
    }
  });

  it("reads directive names case-insensitively (RFC 9111 §5.2)", () => {
    expect(forbidsSharedStore("Private, max-age=60")).toBe(true);
    expect(forbidsSharedStore("max-age=60, NO-STORE")).toBe(true);
  });
});
