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
}

export interface CacheLookup {
  fresh?: CacheEntry;
  stale?: CacheEntry;
}

const OVERHEAD_BYTES = 512;
const CACHEABLE_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 410]);

function varyKeyOf(vary: string | undefined, headers: IncomingHttpHeaders): string {
  if (!vary) return "";
  let key = "";
  for (const name of vary.toLowerCase().split(",")) {
    const n = name.trim();
    if (n === "") continue;
    const v = headers[n];
    key += `${n}=${Array.isArray(v) ? v.join(",") : (v ?? "")}\n`;
  }
  return key;
}

export class ResponseCache {
  private lru: LRUCache<string, CacheEntry>;

  constructor(maxBytes: number) {
    this.lru = this.create(maxBytes);
  }

  private create(maxBytes: number): LRUCache<string, CacheEntry> {
    return new LRUCache<string, CacheEntry>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (e) => e.body.length + OVERHEAD_BYTES,
    });
  }

  /** Apply a new byte cap (entries that no longer fit are evicted). */
  resize(maxBytes: number): void {
    if (this.lru.maxSize === Math.max(1, maxBytes)) return;
    const next = this.create(maxBytes);
    for (const [k, v] of this.lru.entries()) next.set(k, v);
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

  /** Fresh entry to serve, or a stale one (within `maxStaleMs` past freshness) to keep aside. */
  lookup(key: string, req: CacheRequest, maxStaleMs: number): CacheLookup {
    const e = this.lru.get(key);
    if (!e) return {};
    const vary = e.policy.responseHeaders()["vary"];
    if (vary === "*") return {};
    if (varyKeyOf(typeof vary === "string" ? vary : undefined, req.headers) !== e.varyKey)
      return {};
    if (e.policy.satisfiesWithoutRevalidation(req)) return { fresh: e };
    const staleForMs = (e.policy.age() - e.policy.maxAge()) * 1000;
    if (staleForMs <= maxStaleMs) return { stale: e };
    return {};
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
    const policy = new CachePolicy(req, { status, headers }, { shared: true });
    if (!policy.storable()) return undefined;
    const cl = Number(headers["content-length"]);
    if (Number.isFinite(cl) && cl > maxEntryBytes) return undefined;
    const vary = headers.vary;
    if (vary === "*") return undefined;
    const storedHeaders = rawHeaders();
    return new CacheCollector(maxEntryBytes, (body) => {
      this.lru.set(key, {
        policy,
        status,
        rawHeaders: storedHeaders,
        body,
        varyKey: varyKeyOf(vary, req.headers),
      });
    });
  }

  clear(): void {
    this.lru.clear();
  }
}

export class CacheCollector {
  private chunks: Buffer[] | undefined = [];
  private size = 0;

  constructor(
    private readonly cap: number,
    private readonly store: (body: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.chunks) return;
    this.size += chunk.length;
    if (this.size > this.cap) {
      this.chunks = undefined;
      return;
    }
    this.chunks.push(chunk);
  }

  end(complete: boolean): void {
    if (complete && this.chunks) this.store(Buffer.concat(this.chunks, this.size));
    this.chunks = undefined;
  }
}

/** Headers for serving an entry: the stored ones with a current Age, plus `extra`. */
export function entryHeaders(e: CacheEntry, extra: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < e.rawHeaders.length; i += 2) {
    const n = e.rawHeaders[i]!;
    if (n.length === 3 && n.toLowerCase() === "age") continue;
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
