/**
 * A shared HTTP cache for GET responses, used for fresh hits and, mainly, as a
 * stale-if-error fallback. Freshness and storability follow RFC 9111 through
 * http-cache-semantics; memory is capped in bytes by lru-cache.
 */
import type { IncomingHttpHeaders } from "node:http";
import CachePolicy from "http-cache-semantics";
import { LRUCache } from "lru-cache";

export interface CacheRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface CacheEntry {
  policy: CachePolicy;
  status: number;
  /** Filtered raw header list (name, value, …) as sent to the client. */
  rawHeaders: string[];
  body: Buffer;
  /** Request header values named by the response's Vary, for matching stale entries. */
  varyKey: string;
  /**
   * How long past its freshness the entry may still be served when the upstream fails:
   * Infinity (the route's `maxStaleMs` decides), the answer's own `stale-if-error`, or 0
   * when its Cache-Control forbids stale answers.
   */
  staleLimitMs: number;
  /** Bytes held: body, stored fields, the policy's copies of them, overhead. */
  size: number;
}

/** Why a request went upstream, as RFC 9211's `fwd` parameter names it. */
export type CacheMiss = "uri-miss" | "vary-miss" | "stale" | "request" | "miss";

export interface CacheLookup {
  fresh?: CacheEntry;
  stale?: CacheEntry;
  /** Set when there is no fresh entry to serve. */
  miss?: CacheMiss;
}

const OVERHEAD_BYTES = 512;
const CACHEABLE_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 410]);

/** The field names a Vary value lists, lower-cased; `*` stays as it is. */
function varyNames(vary: string | undefined): string[] {
  if (!vary) return [];
  const out: string[] = [];
  for (const name of vary.toLowerCase().split(",")) {
    const n = name.trim();
    if (n !== "") out.push(n);
  }
  return out;
}

function varyKeyOf(names: readonly string[], headers: IncomingHttpHeaders): string {
  let key = "";
  for (const n of names) {
    const v = headers[n];
    key += `${n}=${Array.isArray(v) ? v.join(",") : (v ?? "")}\n`;
  }
  return key;
}

/** Cache-Control directives by lower-cased name (RFC 9111 §5.2), `true` when valueless. */
export function cacheDirectives(cacheControl: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (!cacheControl) return out;
  for (const part of cacheControl.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === "" || out.has(name)) continue;
    out.set(
      name,
      eq === -1
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ""),
    );
  }
  return out;
}

/**
 * How long past freshness a stored answer may be served on error. An answer's own
 * `stale-if-error=N` allows N seconds (RFC 5861 §4). Otherwise no-cache, must-revalidate,
 * proxy-revalidate and s-maxage each forbid a shared cache to serve it stale (RFC 9111
 * §4.2.4, §5.2.2); without them the route's `maxStaleMs` alone decides.
 */
function staleLimitOf(cc: ReadonlyMap<string, string | true>): number {
  const sie = cc.get("stale-if-error");
  if (typeof sie === "string" && /^\d+$/.test(sie)) return Number(sie) * 1000;
  for (const d of STALE_FORBIDDEN) if (cc.has(d)) return 0;
  return Infinity;
}
const STALE_FORBIDDEN = ["no-cache", "must-revalidate", "proxy-revalidate", "s-maxage"];

function fieldBytes(headers: IncomingHttpHeaders): number {
  let n = 0;
  for (const k in headers) {
    const v = headers[k];
    n += k.length + (Array.isArray(v) ? v.join(", ").length : String(v ?? "").length);
  }
  return n;
}

export class ResponseCache {
  private lru: LRUCache<string, CacheEntry>;
  /** Bytes held by collectors still filling; kept within the cache's own cap. */
  private pending = 0;

  constructor(maxBytes: number) {
    this.lru = this.create(maxBytes);
  }

  private create(maxBytes: number): LRUCache<string, CacheEntry> {
    return new LRUCache<string, CacheEntry>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (e) => e.size,
    });
  }

  /** Apply a new byte cap (entries that no longer fit are evicted). */
  resize(maxBytes: number): void {
    if (this.lru.maxSize === Math.max(1, maxBytes)) return;
    const next = this.create(maxBytes);
    // Least recently used first, so the most recently used are the ones left standing.
    for (const k of this.lru.rkeys()) {
      const v = this.lru.peek(k);
      if (v !== undefined) next.set(k, v);
    }
    this.lru = next;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get size(): number {
    return this.lru.size;
  }

  static key(routeId: string, host: string, url: string): string {
    return `${routeId}\u0000${host}\u0000${url}`;
  }

  /**
   * A fresh entry to serve, or one to keep aside for when the upstream fails: stale by at
   * most `maxStaleMs` (and what its own Cache-Control allows), or still fresh but not
   * usable for this request (it asked for `no-cache`).
   */
  lookup(key: string, req: CacheRequest, maxStaleMs: number): CacheLookup {
    const e = this.lru.get(key);
    if (!e) return { miss: "uri-miss" };
    const vary = e.policy.responseHeaders()["vary"];
    if (
      varyKeyOf(varyNames(typeof vary === "string" ? vary : undefined), req.headers) !== e.varyKey
    )
      return { miss: "vary-miss" };
    if (e.policy.satisfiesWithoutRevalidation(req)) return { fresh: e };
    const staleForMs = (e.policy.age() - e.policy.maxAge()) * 1000;
    const miss: CacheMiss =
      staleForMs > 0
        ? "stale"
        : req.headers["cache-control"] !== undefined || req.headers.pragma !== undefined
          ? "request"
          : "miss";
    if (staleForMs <= Math.min(maxStaleMs, e.staleLimitMs)) return { stale: e, miss };
    return { miss };
  }

  /**
   * Start collecting a response for the cache. Returns undefined when it is not storable;
   * otherwise a collector whose `push` stops buffering past the size cap.
   */
  begin(
    key: string,
    req: CacheRequest,
    status: number,
    headers: IncomingHttpHeaders,
    rawHeaders: () => string[],
    maxEntryBytes: number,
  ): CacheCollector | undefined {
    if (req.method !== "GET" || !CACHEABLE_STATUS.has(status)) return undefined;
    // Most API answers say no-store or private: refuse them before building a policy.
    if (forbidsSharedStore(headers["cache-control"])) return undefined;
    // An answer that sets a cookie is someone's own (a session, a personalised page): not
    // stored at all, even without its cookie, as nginx, Varnish and CDNs do by default.
    if (headers["set-cookie"] !== undefined) return undefined;
    const cc = cacheDirectives(headers["cache-control"]);
    // An answer to a request with a cookie may be that user's own (`/me`, a cart): stored
    // only when the upstream says it is for everyone, the rule RFC 9111 §3.5 sets for
    // Authorization (which http-cache-semantics applies).
    if (req.headers.cookie !== undefined && !cc.has("public") && !cc.has("s-maxage"))
      return undefined;
    const staleLimitMs = staleLimitOf(cc);
    // Never usable without revalidation, which this cache does not do, nor stale on error.
    if (cc.has("no-cache") && staleLimitMs === 0) return undefined;
    // `*` anywhere in the list matches no later request (RFC 9110 §12.5.5).
    const vary = varyNames(headers.vary);
    if (vary.includes("*")) return undefined;
    const policy = new CachePolicy(req, { status, headers }, { shared: true });
    if (!policy.storable()) return undefined;
    // An entry must fit the cache as a whole, not only the route's per-entry cap: a body
    // that could never be kept is not buffered.
    const cap = Math.min(maxEntryBytes, this.lru.maxSize - OVERHEAD_BYTES);
    const cl = Number(headers["content-length"]);
    if (cap <= 0 || (Number.isFinite(cl) && cl > cap)) return undefined;
    const storedHeaders = rawHeaders();
    let fixed = OVERHEAD_BYTES + fieldBytes(headers);
    for (const f of storedHeaders) fixed += f.length;
    // The policy keeps the request's fields too when there is a Vary.
    if (vary.length > 0) fixed += fieldBytes(req.headers);
    const varyKey = varyKeyOf(vary, req.headers);
    return new CacheCollector(cap, this, (body) => {
      this.lru.set(key, {
        policy,
        status,
        rawHeaders: storedHeaders,
        body,
        varyKey,
        staleLimitMs,
        size: body.length + fixed,
      });
    });
  }

  /** Take `n` bytes for a collector; false when collectors together would pass the cap. */
  reserve(n: number): boolean {
    if (this.pending + n > this.lru.maxSize) return false;
    this.pending += n;
    return true;
  }

  release(n: number): void {
    this.pending -= n;
  }

  /** Bytes held by collectors still filling. */
  get pendingBytes(): number {
    return this.pending;
  }

  clear(): void {
    this.lru.clear();
  }
}

/**
 * Buffers one answer's body for the cache. It gives up (and lets go of what it held) past
 * its cap, or when the bodies being collected at once would pass the cache's own size.
 */
export class CacheCollector {
  private chunks: Buffer[] | undefined = [];
  private size = 0;

  constructor(
    private readonly cap: number,
    private readonly budget: Pick<ResponseCache, "reserve" | "release">,
    private readonly store: (body: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.chunks) return;
    if (this.size + chunk.length > this.cap || !this.budget.reserve(chunk.length)) {
      this.drop();
      return;
    }
    this.size += chunk.length;
    this.chunks.push(chunk);
  }

  end(complete: boolean): void {
    if (!this.chunks) return;
    const chunks = this.chunks;
    const size = this.size;
    this.drop();
    if (complete) this.store(Buffer.concat(chunks, size));
  }

  private drop(): void {
    this.chunks = undefined;
    this.budget.release(this.size);
    this.size = 0;
  }
}

/**
 * Headers for serving an entry: the stored ones with a current Age, plus `extra` (flat
 * name/value list, lower-case names), which replace stored fields of the same name as they
 * do on a forwarded answer: an upstream's X-Request-Id or Cache-Status is never replayed.
 */
export function entryHeaders(e: CacheEntry, extra: readonly string[]): string[] {
  const out: string[] = [];
  outer: for (let i = 0; i < e.rawHeaders.length; i += 2) {
    const n = e.rawHeaders[i]!;
    const lower = n.toLowerCase();
    if (lower === "age") continue;
    for (let j = 0; j < extra.length; j += 2) if (extra[j] === lower) continue outer;
    out.push(n, e.rawHeaders[i + 1]!);
  }
  out.push("age", String(Math.floor(e.policy.age())));
  for (const h of extra) out.push(h);
  return out;
}

/**
 * True when a response's Cache-Control carries `no-store` or `private`, either of which keeps
 * it out of a shared cache (RFC 9111 §3, §5.2.2.5, §5.2.2.7). Checked before building a
 * `CachePolicy` because it is the common answer. Directive names are read case-insensitively,
 * as the RFC says; http-cache-semantics reads them as written, so `Private` is refused here.
 */
export function forbidsSharedStore(cacheControl: string | undefined): boolean {
  return cacheControl !== undefined && SHARED_STORE_FORBIDDEN.test(cacheControl);
}

/** A `no-store` or `private` directive name, with or without an argument. */
const SHARED_STORE_FORBIDDEN = /(?:^|,)[ \t]*(?:no-store|private)[ \t]*(?:=|,|$)/i;
