/**
 * Route matching: method, host (without port) and the longest path prefix. Built once per
 * config; matching allocates nothing. Paths are matched in the normal form checkTarget gives
 * them (normalise.ts), and prefixes are put in the same form here.
 */
import type { Config, RouteConfig } from "@rg/core";
import { needsNormalising, normalisePath } from "./normalise";

export interface RouteEntry {
  id: string;
  config: RouteConfig;
  prefix: string;
  methods: ReadonlySet<string> | undefined;
  host: string | undefined;
}

export interface RouteMatch {
  route: RouteEntry;
  /** Path (with query) to send upstream after stripPrefix. */
  upstreamPath: string;
}

/** A `;` ends a segment as `/` and `?` do: `/login;jsessionid=1` is `/login` with a parameter. */
function prefixMatches(path: string, prefix: string): boolean {
  if (prefix === "/") return true;
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length) return true;
  if (prefix.endsWith("/")) return true;
  const c = path.charCodeAt(prefix.length);
  return c === 47 /* / */ || c === 63 /* ? */ || c === 59; /* ; */
}

/** A configured prefix in the normal form of the paths it is matched with. */
function normalPrefix(prefix: string): string {
  if (!needsNormalising(prefix)) return prefix;
  const n = normalisePath(prefix);
  // One that normalisePath refuses matches no request anyway: every such request is refused.
  return n.ok ? n.path : prefix;
}

export class RouteTable {
  private readonly entries: RouteEntry[];

  constructor(config: Config) {
    this.entries = Object.entries(config.routes)
      .map(([id, r]) => ({
        id,
        config: r,
        prefix: normalPrefix(r.match.pathPrefix),
        methods: r.match.methods ? new Set(r.match.methods) : undefined,
        host: r.match.host?.toLowerCase(),
      }))
      // Longest prefix first; among equals, host-specific routes before any-host ones.
      .sort(
        (a, b) =>
          b.prefix.length - a.prefix.length ||
          Number(b.host !== undefined) - Number(a.host !== undefined),
      );
  }

  get size(): number {
    return this.entries.length;
  }

  routes(): readonly RouteEntry[] {
    return this.entries;
  }

  match(method: string, host: string, url: string): RouteMatch | undefined {
    for (const e of this.entries) {
      if (e.methods && !e.methods.has(method)) continue;
      if (e.host !== undefined && e.host !== host) continue;
      if (!prefixMatches(url, e.prefix)) continue;
      return { route: e, upstreamPath: e.config.stripPrefix ? strip(url, e.prefix) : url };
    }
    return undefined;
  }
}

function strip(url: string, prefix: string): string {
  if (prefix === "/") return url;
  const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const rest = url.slice(base.length);
  if (rest === "") return "/";
  const c = rest.charCodeAt(0);
  return c === 63 /* ? */ || c === 59 /* ; */ ? `/${rest}` : rest;
}
