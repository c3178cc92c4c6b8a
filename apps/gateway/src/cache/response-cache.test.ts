import { afterEach, describe, expect, it, vi } from "vitest";
import CachePolicy from "http-cache-semantics";
import { entryHeaders, forbidsSharedStore, ResponseCache } from "./response-cache";

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
    expect(cache.lookup("c", req, 0)).toEqual({ miss: "uri-miss" });
  });

  it("does not store an incomplete body", () => {
    const cache = new ResponseCache(1 << 20);
    const c = cache.begin("k", req, 200, { "cache-control": "max-age=60" }, () => [], 100);
    c!.push(Buffer.from("half"));
    c!.end(false);
    expect(cache.lookup("k", req, 0)).toEqual({ miss: "uri-miss" });
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
    ).toEqual({ miss: "vary-miss" });
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

describe("ResponseCache: what may be stored and served stale", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const store = (
    cache: ResponseCache,
    key: string,
    r: typeof req,
    headers: Record<string, string>,
    body = "body",
  ) => {
    const c = cache.begin(key, r, 200, headers, () => Object.entries(headers).flat(), 1 << 16);
    c?.push(Buffer.from(body));
    c?.end(true);
    return c !== undefined;
  };

  it("stores an answer to a request with a cookie only when it says public or s-maxage", () => {
    const cache = new ResponseCache(1 << 20);
    const withCookie = { ...req, headers: { host: "h", cookie: "sid=alice" } };
    expect(store(cache, "me", withCookie, { "cache-control": "max-age=60" })).toBe(false);
    expect(store(cache, "me", withCookie, {})).toBe(false);
    expect(cache.lookup("me", req, 60_000)).toEqual({ miss: "uri-miss" });
    expect(store(cache, "pub", withCookie, { "cache-control": "Public, max-age=60" })).toBe(true);
    expect(store(cache, "s", withCookie, { "cache-control": "s-maxage=60" })).toBe(true);
    expect(cache.lookup("pub", req, 0).fresh).toBeDefined();
  });

  it("never serves stale what must-revalidate, proxy-revalidate or s-maxage forbid, nor stores no-cache", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const cache = new ResponseCache(1 << 20);
    for (const cc of ["max-age=1, must-revalidate", "max-age=1, Proxy-Revalidate", "s-maxage=1"])
      expect(store(cache, cc, req, { "cache-control": cc }), cc).toBe(true);
    expect(store(cache, "plain", req, { "cache-control": "max-age=1" })).toBe(true);
    expect(store(cache, "nc", req, { "cache-control": "no-cache" })).toBe(false);
    // Fresh: a hit, or for must-revalidate (which http-cache-semantics never serves without
    // asking the upstream) kept aside for an error.
    expect(cache.lookup("plain", req, 60_000).fresh).toBeDefined();
    expect(cache.lookup("max-age=1, must-revalidate", req, 60_000)).toMatchObject({ miss: "miss" });
    expect(cache.lookup("max-age=1, must-revalidate", req, 60_000).stale).toBeDefined();
    vi.setSystemTime(1_000_000 + 5_000);
    for (const cc of ["max-age=1, must-revalidate", "max-age=1, Proxy-Revalidate", "s-maxage=1"])
      expect(cache.lookup(cc, req, 60_000), cc).toEqual({ miss: "stale" });
    expect(cache.lookup("plain", req, 60_000)).toMatchObject({ miss: "stale" });
    expect(cache.lookup("plain", req, 60_000).stale).toBeDefined();
    // The route's own bound still holds.
    expect(cache.lookup("plain", req, 3_000)).toEqual({ miss: "stale" });
  });

  it("keeps an answer's own stale-if-error, which overrides must-revalidate and bounds staleness", () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const cache = new ResponseCache(1 << 20);
    const cc = "max-age=1, must-revalidate, stale-if-error=10";
    expect(store(cache, "k", req, { "cache-control": cc })).toBe(true);
    vi.setSystemTime(2_000_000 + 6_000);
    expect(cache.lookup("k", req, 60_000).stale).toBeDefined();
    vi.setSystemTime(2_000_000 + 12_000);
    expect(cache.lookup("k", req, 60_000)).toEqual({ miss: "stale" });
    // No-cache with stale-if-error is kept for errors only.
    expect(store(cache, "n", req, { "cache-control": "no-cache, stale-if-error=30" })).toBe(true);
    expect(cache.lookup("n", req, 60_000).fresh).toBeUndefined();
    expect(cache.lookup("n", req, 60_000).stale).toBeDefined();
  });

  it("keeps a fresh entry aside for a request that asked for no-cache (fwd=request)", () => {
    const cache = new ResponseCache(1 << 20);
    expect(store(cache, "k", req, { "cache-control": "max-age=60, must-revalidate" })).toBe(true);
    const nc = { ...req, headers: { host: "h", "cache-control": "no-cache" } };
    const found = cache.lookup("k", nc, 0);
    expect(found.miss).toBe("request");
    expect(found.stale?.body.toString()).toBe("body");
  });

  it("does not store an answer whose Vary lists * among other fields (RFC 9110 §12.5.5)", () => {
    const cache = new ResponseCache(1 << 20);
    for (const vary of ["*", "Accept-Encoding, *", " accept , * "])
      expect(store(cache, vary, req, { "cache-control": "max-age=60", vary }), vary).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("replaces stored fields named by the gateway's own when serving an entry", () => {
    const cache = new ResponseCache(1 << 20);
    const h = {
      "cache-control": "max-age=60",
      "X-Request-Id": "alice-1",
      "Cache-Status": "origin; hit",
      Age: "3",
      "Content-Type": "text/plain",
    };
    expect(store(cache, "k", req, h)).toBe(true);
    const e = cache.lookup("k", req, 0).fresh!;
    const out = entryHeaders(e, ["x-request-id", "bob-2", "cache-status", "gateway; hit"]);
    const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === "x-request-id")).toHaveLength(1);
    expect(names.filter((n) => n === "cache-status")).toHaveLength(1);
    expect(names.filter((n) => n === "age")).toHaveLength(1);
    expect(out[out.indexOf("x-request-id") + 1]).toBe("bob-2");
    expect(out[out.indexOf("Content-Type") + 1]).toBe("text/plain");
  });

  it("counts stored fields in the byte cap, not only the body", () => {
    const cache = new ResponseCache(64 * 1024);
    const big = { "cache-control": "max-age=60", "x-big": "v".repeat(10_000) };
    for (let i = 0; i < 20; i++) store(cache, `k${i}`, req, big, "tiny");
    // Each entry holds the 10 KB field twice (the raw list and the policy's copy).
    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.bytes).toBeGreaterThan(cache.size * 20_000);
    expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("keeps the most recently used entries when the cap shrinks", () => {
    const cache = new ResponseCache(1 << 20);
    for (let i = 0; i < 10; i++) store(cache, `k${i}`, req, { "cache-control": "max-age=60" });
    cache.lookup("k0", req, 0);
    const one = cache.bytes / 10;
    cache.resize(Math.floor(one * 3.5));
    expect(cache.size).toBe(3);
    for (const k of ["k0", "k9", "k8"]) expect(cache.lookup(k, req, 0).fresh, k).toBeDefined();
  });

  it("buffers no body that could not fit the cache, and collectors share the cache's cap", () => {
    const cache = new ResponseCache(4096);
    const cc = { "cache-control": "max-age=60" };
    // A Content-Length above the whole cache: refused at once, whatever the route allows.
    expect(
      cache.begin("big", req, 200, { ...cc, "content-length": "8000" }, () => [], 1 << 20),
    ).toBeUndefined();
    // Two answers filling at once may hold no more than the cache's size between them.
    const a = cache.begin("a", req, 200, cc, () => [], 1 << 20)!;
    const b = cache.begin("b", req, 200, cc, () => [], 1 << 20)!;
    a.push(Buffer.alloc(3000));
    expect(cache.pendingBytes).toBe(3000);
    b.push(Buffer.alloc(2000));
    expect(cache.pendingBytes).toBe(3000);
    b.end(true);
    a.end(true);
    expect(cache.pendingBytes).toBe(0);
    expect(cache.lookup("b", req, 0).fresh).toBeUndefined();
    expect(cache.lookup("a", req, 0).fresh?.body.length).toBe(3000);
    // A body that grows past the cache while it arrives is let go.
    const c = cache.begin("c", req, 200, cc, () => [], 1 << 20)!;
    c.push(Buffer.alloc(3500));
    c.push(Buffer.alloc(1000));
    expect(cache.pendingBytes).toBe(0);
    c.end(true);
    expect(cache.lookup("c", req, 0).fresh).toBeUndefined();
  });
});
