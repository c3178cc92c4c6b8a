/**
 * HTTP syntax the config and the gateway judge alike: which fields are hop-by-hop, and which
 * paths have dot-segments. Pure functions, on the gateway's per-request path.
 */

/**
 * RFC 9110 §7.6.1 connection-specific fields (Connection, Keep-Alive, TE, Trailer,
 * Transfer-Encoding, Upgrade) and the legacy Proxy-* family; `name` lower-case. Compared by
 * length first, since it runs for every header in both directions.
 */
export function isHopByHop(name: string): boolean {
  if (name.length > 6 && name.charCodeAt(0) === 112 /* p */ && name.startsWith("proxy-"))
    return true;
  switch (name.length) {
    case 2:
      return name === "te";
    case 7:
      return name === "trailer" || name === "upgrade";
    case 10:
      return name === "connection" || name === "keep-alive";
    case 17:
      return name === "transfer-encoding";
    default:
      return false;
  }
}

/**
 * True when a path has a `.` or `..` segment, written plainly or percent-encoded, with `/`,
 * `\` or their encodings as separators. Such a path is matched against one route prefix but
 * resolves to another at any upstream that normalises it (RFC 3986 §5.2.4).
 */
export function hasDotSegment(path: string): boolean {
  const q = path.indexOf("?");
  let p = q === -1 ? path : path.slice(0, q);
  if (p.indexOf(".") === -1 && p.indexOf("%") === -1) return false;
  p = p.replace(/%2e/gi, ".").replace(/%2f/gi, "/").replace(/%5c/gi, "\\");
  for (const seg of p.split(/[/\\]/)) if (seg === "." || seg === "..") return true;
  return false;
}
