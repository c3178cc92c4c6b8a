/**
 * Request hardening and preparation: request id, hop-by-hop stripping, Forwarded /
 * X-Forwarded-*, request-smuggling guards and the consumer identity used by rate limits.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import { HTTP_TOKEN, hasDotSegment, isHopByHop, type GatewayConfig } from "@rg/core";
import { needsNormalising, normalisePath } from "../routing/normalise";

const NO_TOKENS: readonly string[] = [];

/** Field names a Connection header lists (lower-case). */
function connectionTokens(value: string | string[] | undefined): readonly string[] {
  if (value === undefined) return NO_TOKENS;
  const v = Array.isArray(value) ? value.join(",") : value;
  // The usual values name no other field: `keep-alive` is hop-by-hop anyway.
  if (v.length <= 10) {
    const l = v.toLowerCase();
    if (l === "keep-alive" || l === "close") return NO_TOKENS;
  }
  return v
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
}

/**
 * Remove hop-by-hop headers (and those named by Connection) from a header object in place.
 * A Connection header cannot take Host away: it names the origin, not this connection.
 */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  if (headers.connection !== undefined) {
    for (const n of connectionTokens(headers.connection)) if (n !== "host") delete headers[n];
  }
  for (const k in headers) if (isHopByHop(k)) delete headers[k];
}

/**
 * Methods Node's client sends without chunked framing unless told otherwise, and for which
 * http-proxy writes `Content-Length: 0` when none is set (DELETE, OPTIONS). A body on one of
 * them must carry a length, or its bytes would follow the head unframed and the upstream
 * would read them as the next request on the pooled connection.
 */
const UNCHUNKED_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);

/**
 * Frame the body the gateway forwards, in place, after the hop-by-hop fields (among them the
 * client's Transfer-Encoding) are gone: the length of a buffered body, the client's declared
 * length for a streamed one, chunked otherwise. False when the body cannot be framed for
 * this method (streamed, no declared length): the request must then be refused.
 */
export function frameUpstreamBody(
  req: IncomingMessage,
  body: { kind: "none" } | { kind: "buffered"; data: Buffer } | { kind: "stream" },
  declaredLength: string | undefined,
): boolean {
  const h = req.headers;
  delete h["transfer-encoding"];
  switch (body.kind) {
    case "none":
      if (declaredLength !== undefined) h["content-length"] = declaredLength;
      return true;
    case "buffered":
      h["content-length"] = String(body.data.length);
      return true;
    case "stream":
      if (declaredLength !== undefined) {
        h["content-length"] = declaredLength;
        return true;
      }
      if (UNCHUNKED_METHODS.has(req.method ?? "GET")) return false;
      delete h["content-length"];
      h["transfer-encoding"] = "chunked";
      return true;
  }
}

/**
 * Filter a flat raw header list (name, value, name, value…) from an upstream response,
 * dropping hop-by-hop fields, those the Connection header names, and those named in
 * `replacedBy`: a flat name/value list (lower-case names) of fields the gateway sets itself.
 * `noContent` (a 204) drops Content-Length too: a 204 must not carry one (RFC 9110 §8.6).
 */
export function filterRawResponseHeaders(
  raw: readonly string[],
  replacedBy: readonly string[] = [],
  noContent = false,
): string[] {
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") {
      const tokens = connectionTokens(raw[i + 1]);
      if (tokens.length > 0) named = [...(named ?? []), ...tokens];
    }
  }
  const out: string[] = [];
  outer: for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower)) continue;
    if (named !== undefined && named.includes(lower)) continue;
    if (noContent && lower === "content-length") continue;
    for (let j = 0; j < replacedBy.length; j += 2) if (replacedBy[j] === lower) continue outer;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

export type SmugglingVerdict = "ok" | "te_and_cl" | "bad_te" | "bad_cl";

/**
 * Node's parser already refuses most smuggling shapes; this is the second line: a
 * Transfer-Encoding together with Content-Length, anything but a plain `chunked`, or a
 * list-valued Content-Length is refused before anything is forwarded.
 */
export function checkFraming(req: IncomingMessage): SmugglingVerdict {
  const te = req.headers["transfer-encoding"];
  const cl = req.headers["content-length"];
  if (te !== undefined) {
    if (cl !== undefined) return "te_and_cl";
    if (te.trim().toLowerCase() !== "chunked") return "bad_te";
    let count = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === "transfer-encoding") count++;
    }
    if (count !== 1) return "bad_te";
  }
  if (cl !== undefined && !/^\d{1,15}$/.test(cl)) return "bad_cl";
  return "ok";
}

/** RFC 3986 host (IP-literal, IPv4 or reg-name) with an optional numeric port: RFC 9112 §3.2. */
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d*)?$/;
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)([^#]*)$/i;

export type TargetCheck =
  | { ok: true; path: string }
  | {
      ok: false;
      code: "RG_BAD_REQUEST" | "RG_VERSION_NOT_SUPPORTED";
      detail: string;
    };

function refused(detail: string): TargetCheck {
  return { ok: false, code: "RG_BAD_REQUEST", detail };
}

/**
 * The request line and Host, checked before routing (RFC 9112 §2.3, §3.2): HTTP/1.x only,
 * exactly one valid Host on HTTP/1.1, no fragment, no dot-segments, and the target in
 * origin-form or absolute-form. An absolute-form target's authority replaces Host, as a
 * server must use it and a proxy must forward it (§3.2.2). Returns the path to route and to
 * forward, in its normal form (normalisePath), so both see the same path.
 */
export function checkTarget(req: IncomingMessage): TargetCheck {
  if (req.httpVersionMajor !== 1) {
    return req.httpVersionMajor === 0
      ? refused("an HTTP/0.9 request line (no version) is not accepted")
      : {
          ok: false,
          code: "RG_VERSION_NOT_SUPPORTED",
          detail: `HTTP/${req.httpVersion} is not spoken on this port`,
        };
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 4 && n.toLowerCase() === "host") hosts++;
  }
  if (hosts > 1) return refused("more than one Host field");
  const host = req.headers.host;
  if (host === undefined) {
    if (req.httpVersionMinor >= 1) return refused("an HTTP/1.1 request needs a Host field");
  } else if (!HOST_VALUE.test(host)) return refused("the Host field is not a valid host[:port]");

  let path = req.url ?? "/";
  if (path.charCodeAt(0) !== 47 /* / */) {
    const abs = ABSOLUTE_FORM.exec(path);
    if (!abs) return refused("request target must be an absolute path or an absolute URI");
    const authority = abs[1]!;
    if (authority === "" || authority.includes("@") || !HOST_VALUE.test(authority))
      return refused("the request target's authority is not a valid host[:port]");
    req.headers.host = authority;
    path = abs[2] === "" ? "/" : abs[2]!.charCodeAt(0) === 47 ? abs[2]! : `/${abs[2]!}`;
  }
  if (path.indexOf("#") !== -1) return refused("a request target cannot carry a fragment");
  if (needsNormalising(path)) {
    const n = normalisePath(path);
    if (!n.ok) return refused(n.detail);
    path = n.path;
  }
  if (hasDotSegment(path)) return refused("the path has a '.' or '..' segment");
  return { ok: true, path };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids the gateway makes are UUIDs in the custom version 8 layout of RFC 9562: 74
 * random bits drawn once per process, then a 48-bit counter. Unique across instances and
 * restarts like a v4, without a random draw per request.
 */
const ID_PREFIX = (() => {
  const h = randomBytes(10).toString("hex");
  const variant = ((parseInt(h[15]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(12, 15)}-${variant}${h.slice(16, 19)}-`;
})();
let idCounter = 0;

export function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x1000000000000;
  return ID_PREFIX + idCounter.toString(16).padStart(12, "0");
}

/** The client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  return newRequestId();
}

function quoteForwardedFor(ip: string): string {
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/** RFC 7239 values that are not tokens (a host with a port, for one) must be quoted. */
function forwardedValue(v: string): string {
  return HTTP_TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, "")}"`;
}

/**
 * Prepare the request's headers for forwarding, in place (http-proxy copies req.headers):
 * strip hop-by-hop, set the request id, add the forwarding headers the config asks for.
 */
export function prepareUpstreamHeaders(
  req: IncomingMessage,
  requestId: string,
  forwarded: GatewayConfig["forwarded"],
): void {
  const h = req.headers;
  stripHopByHop(h);
  // The body is read (or streamed) by the gateway; the upstream must not wait for a 100.
  if (h.expect !== undefined) delete h.expect;
  h["x-request-id"] = requestId;
  const ip = req.socket.remoteAddress ?? "unknown";
  const proto = "http";
  if (forwarded.xForwardedFor) {
    const xff = h["x-forwarded-for"];
    h["x-forwarded-for"] = xff ? `${Array.isArray(xff) ? xff.join(", ") : xff}, ${ip}` : ip;
  }
  if (forwarded.xForwardedProto && h["x-forwarded-proto"] === undefined)
    h["x-forwarded-proto"] = proto;
  if (forwarded.xForwardedHost && h["x-forwarded-host"] === undefined)
    h["x-forwarded-host"] = h.host ?? "";
  if (forwarded.rfc7239) {
    const fwd = `for=${quoteForwardedFor(ip)};host=${forwardedValue(h.host ?? "")};proto=${proto}`;
    h.forwarded = h.forwarded ? `${h.forwarded}, ${fwd}` : fwd;
  }
}

/**
 * Host header without its port or one trailing dot, lower-cased: `example.com.` is the same
 * name as `example.com` (the absolute form of it), and upstreams serve it as such.
 */
export function hostOf(req: IncomingMessage): string {
  const host = req.headers.host;
  if (!host) return "";
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(":");
  let end = colon === -1 ? host.length : colon;
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  return (end === host.length ? host : host.slice(0, end)).toLowerCase();
}

export interface Consumer {
  key: string;
  tier: string;
}

/**
 * Consumer identity, which rate limits and per-client caps key on: a key listed in `tiers`
 * (with its tier); any other key only with `unknownKeys: key`, since a client could otherwise
 * send a fresh one with every request and never be limited; else the client address. Read
 * before the gateway appends to X-Forwarded-For.
 */
export function consumerOf(
  req: IncomingMessage,
  {
    apiKeyHeader,
    tiers,
    unknownKeys,
    trustedProxyHops,
    trustedProxies,
    clientAddressHeader,
  }: GatewayConfig["consumers"],
): Consumer {
  const raw = req.headers[apiKeyHeader];
  const apiKey = Array.isArray(raw) ? raw[0] : raw;
  if (apiKey) {
    if (Object.hasOwn(tiers, apiKey)) return { key: `key:${apiKey}`, tier: tiers[apiKey]! };
    if (unknownKeys === "key") return { key: `key:${apiKey}`, tier: "default" };
  }
  const trust = trustedProxies.length > 0 ? blockListOf(trustedProxies) : trustedProxyHops;
  return { key: `ip:${clientAddress(req, trust, clientAddressHeader)}`, tier: "default" };
}

const blockLists = new WeakMap<readonly string[], BlockList>();

/** The trusted proxies as a BlockList, built once per config revision. */
export function blockListOf(ranges: readonly string[]): BlockList {
  let list = blockLists.get(ranges);
  if (list) return list;
  list = new BlockList();
  for (const range of ranges) {
    const slash = range.indexOf("/");
    const addr = slash === -1 ? range : range.slice(0, slash);
    const family = familyOf(addr) ?? "ipv4";
    if (slash === -1) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(range.slice(slash + 1)), family);
  }
  blockLists.set(ranges, list);
  return list;
}

function familyOf(addr: string): "ipv4" | "ipv6" | undefined {
  const v = isIP(addr);
  return v === 4 ? "ipv4" : v === 6 ? "ipv6" : undefined;
}

function isTrusted(list: BlockList, addr: string): boolean {
  const family = familyOf(addr);
  return family !== undefined && list.check(addr, family);
}

/**
 * An X-Forwarded-For entry, or a Forwarded `for=` value, as a bare address: some proxies
 * append the port too (`203.0.113.5:41234`, `[2001:db8::1]:443`). Undefined if it is no
 * address (`unknown`, an obfuscated name, a made-up word).
 */
function bareAddress(entry: string): string | undefined {
  const e = entry.trim();
  if (isIP(e) !== 0) return e;
  if (e.startsWith("[")) {
    const end = e.indexOf("]");
    const inner = e.slice(1, end);
    return end > 0 && isIP(inner) === 6 ? inner : undefined;
  }
  const colon = e.lastIndexOf(":");
  return colon > 0 && isIP(e.slice(0, colon)) === 4 ? e.slice(0, colon) : undefined;
}

/** `s` cut at each `sep` that is outside a quoted string (RFC 9110 §5.6.4). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * The `for=` value of each element of a Forwarded header (RFC 7239 §4), left to right and
 * unquoted; an empty string for an element without one, so that it counts as a hop that
 * gave no address.
 */
export function forwardedFor(value: string): string[] {
  return splitOutsideQuotes(value, ",").map((element) => {
    for (const pair of splitOutsideQuotes(element, ";")) {
      const eq = pair.indexOf("=");
      if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
      const v = pair.slice(eq + 1).trim();
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"')
        ? v.slice(1, -1).replace(/\\(.)/g, "$1")
        : v;
    }
    return "";
  });
}

/**
 * The client's address. With no trusted proxies, the connection's. With a hop count N, the
 * entry of X-Forwarded-For (or of the header `header` names: Forwarded's `for=`s, or another
 * such as X-Real-IP read as a comma-separated list) that the outermost of N proxies appended,
 * the Nth from the right (Envoy's xff_num_trusted_hops). With a list of trusted proxies, and
 * only for a connection from one of them, the rightmost entry that is not one of them, or the
 * leftmost if all are (Envoy's xff_trusted_cidrs, nginx's real_ip_recursive). Entries to the
 * left of it are the client's own say and are never read, nor is any header that `header`
 * does not name. A request that did not pass the proxies is known by its connection's
 * address, as is one whose entry is no address; with the list, such an entry gives the last
 * good address to its right.
 */
export function clientAddress(
  req: IncomingMessage,
  trust: number | BlockList,
  header: GatewayConfig["consumers"]["clientAddressHeader"] = "x-forwarded-for",
): string {
  const own = req.socket.remoteAddress ?? "unknown";
  if (trust === 0) return own;
  if (typeof trust !== "number" && !isTrusted(trust, own)) return own;
  const raw = req.headers[header];
  if (raw === undefined) return own;
  const joined = Array.isArray(raw) ? raw.join(",") : raw;
  const list = header === "forwarded" ? forwardedFor(joined) : joined.split(",");
  if (typeof trust === "number") {
    if (list.length < trust) return own;
    return bareAddress(list[list.length - trust]!) ?? own;
  }
  let addr = own;
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = bareAddress(list[i]!);
    if (entry === undefined) return addr;
    addr = entry;
    if (!isTrusted(trust, entry)) return entry;
  }
  return addr;
}
