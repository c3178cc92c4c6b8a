/**
 * The path the gateway routes on and forwards, in one normal form, so that a route's
 * policies apply to every spelling of its paths (RFC 3986 §6.2.2): repeated slashes merged,
 * percent-encoded unreserved characters decoded (§2.3), other escapes in upper case (§6.2.2.1).
 * The query is left as sent.
 */

export type NormalisedPath = { ok: true; path: string } | { ok: false; detail: string };

const PERCENT = 37;
const SLASH = 47;
const SEMICOLON = 59;
const QUESTION = 63;

/**
 * True when the path (before any query) holds a `%`, a `//` or a `;`: only such a path has
 * another spelling to normalise. One pass, allocation-free, for the common path's sake.
 */
export function needsNormalising(target: string): boolean {
  let prev = 0;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION) return false;
    if (c === PERCENT || c === SEMICOLON || (c === SLASH && prev === SLASH)) return true;
    prev = c;
  }
  return false;
}

/** The value of one hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  const l = b | 0x20;
  return (
    (l >= 97 && l <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 46 || b === 95 || b === 126
  );
}

const HEX = "0123456789ABCDEF";

function refused(detail: string): NormalisedPath {
  return { ok: false, detail };
}

/**
 * The normal form of a request target's path, with its query unchanged; or why it is refused:
 * - an encoded `/` or `\` (`%2F`, `%5C`): it would be a separator at an upstream that decodes
 *   it and none at one that does not, so no route can be chosen for both (Envoy's REJECT);
 * - a `%` not followed by two hex digits, which upstreams read in different ways (IIS's
 *   `%uXXXX`, for one);
 * - a `;` parameter on a segment other than the last: Tomcat and Spring drop it, so
 *   `/api;x/login` is their `/api/login`, which a prefix compared with the path as sent
 *   would miss;
 * - a `.` or `..` segment with parameters (`..;x`), which those servers resolve as `..`.
 * A `;` on the last segment is kept, and ends it for prefix matching (RouteTable).
 */
export function normalisePath(target: string): NormalisedPath {
  const q = target.indexOf("?");
  const p = q === -1 ? target : target.slice(0, q);
  let out = "";
  // Start of the current segment in `out`, and where its first `;` is (-1: none yet).
  let segStart = 0;
  let params = -1;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === SLASH) {
      if (params !== -1) {
        if (isDotSegment(out, segStart, params))
          return refused("the path has a '.' or '..' segment with parameters (';')");
        return refused(
          "a ';' parameter is accepted only on the path's last segment: some upstreams drop it, and would route the path elsewhere",
        );
      }
      if (out.charCodeAt(out.length - 1) === SLASH) continue; // merge repeated slashes
      out += "/";
      segStart = out.length;
      continue;
    }
    if (c === PERCENT) {
      const hi = i + 2 < p.length ? hexValue(p.charCodeAt(i + 1)) : -1;
      const lo = hi === -1 ? -1 : hexValue(p.charCodeAt(i + 2));
      if (lo === -1) return refused("a '%' in the path is not followed by two hex digits");
      const b = hi * 16 + lo;
      if (b === SLASH || b === 92 /* \ */)
        return refused(
          "the path has an encoded '/' or '\\' (%2F, %5C), which upstreams read either as a separator or as data: send it unencoded, or not at all",
        );
      out += isUnreserved(b) ? String.fromCharCode(b) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
      continue;
    }
    if (c === SEMICOLON && params === -1) params = out.length;
    out += p[i];
  }
  if (params !== -1 && isDotSegment(out, segStart, params))
    return refused("the path has a '.' or '..' segment with parameters (';')");
  return { ok: true, path: q === -1 ? out : out + target.slice(q) };
}

/** Whether out[start, end) is `.` or `..`. */
function isDotSegment(out: string, start: number, end: number): boolean {
  const n = end - start;
  if (n < 1 || n > 2) return false;
  if (out.charCodeAt(start) !== 46) return false;
  return n === 1 || out.charCodeAt(start + 1) === 46;
}
