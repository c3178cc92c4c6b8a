import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applyOverrides,
  formatIssues,
  getAtPath,
  ownEntry,
  parseConfigText,
  setAtPath,
  startupOnlyChanges,
  validateConfig,
} from "./index";

/** One upstream and one route, for tests of the gateway-wide settings. */
const minimal = {
  upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
  routes: { pay: { match: { pathPrefix: "/p" }, upstream: "a" } },
};
/** The `path: reason` lines of a config that must be refused. */
function refusals(r: ReturnType<typeof validateConfig>): string[] {
  if (r.ok) throw new Error("the config was accepted");
  return formatIssues(r.issues);
}

/** A config with one upstream and a route to it per entry of `matches`, keyed by route id. */
function routesMatching(matches: Record<string, Record<string, unknown>>) {
  return validateConfig({
    upstreams: { a: { endpoints: { x: { url: "http://10.0.0.5:8080" } } } },
    routes: Object.fromEntries(
      Object.entries(matches).map(([id, match]) => [id, { match, upstream: "a" }]),
    ),
  });
}

/** A config whose one upstream is probed at `path`. */
function withHealthPath(path: string) {
  return validateConfig({
    upstreams: { a: { endpoints: { x: { url: "http://10.0.0.5:8080" } }, healthCheck: { path } } },
    routes: { pay: { match: { pathPrefix: "/p" }, upstream: "a" } },
  });
}

const example = readFileSync(join(import.meta.dirname, "../../../../config/example.yaml"), "utf8");

describe("config schema", () => {
  it("accepts the example config and fills defaults", () => {
    const r = parseConfigText(example);
    if (!r.ok) throw new Error(formatIssues(r.issues).join("\n"));
    expect(r.config.routes.payments!.retry.maxAttempts).toBe(3);
    expect(r.config.routes.payments!.retry.multiplier).toBe(2);
    expect(r.config.upstreams.catalog!.circuitBreaker.halfOpenMaxProbes).toBe(3);
    expect(r.config.gateway.limits.maxHeaderBytes).toBe(16_384);
  });

  it("keeps WebSocket tunnels off unless a route turns them on", () => {
    const r = parseConfigText(example);
    if (!r.ok) throw new Error(formatIssues(r.issues).join("\n"));
    expect(r.config.routes.payments!.websocket).toEqual({
      enabled: false,
      idleTimeoutMs: 300_000,
      healthyAfterMs: 5000,
      maxConnections: 1000,
    });
    expect(r.config.routes.inventory!.websocket).toMatchObject({
      enabled: true,
      maxConnections: 500,
      maxConnectionsPerClient: 20,
    });
    const bad = validateConfig({
      upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
      routes: {
        live: {
          match: { pathPrefix: "/l" },
          upstream: "a",
          websocket: { maxConnections: 0, maxConnectionsPerClient: 0 },
        },
      },
    });
    expect(refusals(bad)).toEqual([
      "routes.live.websocket.maxConnections: Too small: expected number to be >=1",
      "routes.live.websocket.maxConnectionsPerClient: Too small: expected number to be >=1",
    ]);
  });

  it("names the path and the reason of each error", () => {
    const r = validateConfig({
      upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
      routes: { pay: { match: { pathPrefix: "/p" }, upstream: "a", retry: { maxAttempts: 11 } } },
    });
    expect(refusals(r)).toEqual([
      "routes.pay.retry.maxAttempts: Too big: expected number to be <=10",
    ]);
  });

  it("takes trusted proxies as addresses or CIDR ranges, and not with a hop count", () => {
    const ok = validateConfig({
      ...minimal,
      gateway: { consumers: { trustedProxies: ["10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1"] } },
    });
    if (!ok.ok) throw new Error(formatIssues(ok.issues).join("\n"));
    expect(ok.config.gateway.consumers.trustedProxies).toHaveLength(4);
    expect(validateConfig(minimal)).toMatchObject({
      ok: true,
      config: { gateway: { consumers: { trustedProxies: [], trustedProxyHops: 0 } } },
    });
    const bad = validateConfig({
      ...minimal,
      gateway: { consumers: { trustedProxies: ["10.0.0.0/33", "lb.internal"] } },
    });
    expect(refusals(bad)).toEqual([
      "gateway.consumers.trustedProxies[0]: must be an IP address or a CIDR range, such as 10.0.0.0/8 or fd00::/8",
      "gateway.consumers.trustedProxies[1]: must be an IP address or a CIDR range, such as 10.0.0.0/8 or fd00::/8",
    ]);
    const both = validateConfig({
      ...minimal,
      gateway: { consumers: { trustedProxies: ["10.0.0.0/8"], trustedProxyHops: 1 } },
    });
    expect(refusals(both)).toEqual([
      expect.stringMatching(
        /^gateway\.consumers\.trustedProxies: set trustedProxyHops or trustedProxies, not both/,
      ),
    ]);
  });

  it("reads client addresses from X-Forwarded-For unless told another header, and refuses what is no header name", () => {
    expect(validateConfig(minimal)).toMatchObject({
      ok: true,
      config: { gateway: { consumers: { clientAddressHeader: "x-forwarded-for" } } },
    });
    for (const [given, read] of [
      ["forwarded", "forwarded"],
      [" X-Real-IP ", "x-real-ip"],
      ["CF-Connecting-IP", "cf-connecting-ip"],
    ]) {
      expect(
        validateConfig({
          ...minimal,
          gateway: { consumers: { trustedProxyHops: 1, clientAddressHeader: given } },
        }),
      ).toMatchObject({
        ok: true,
        config: { gateway: { consumers: { clientAddressHeader: read } } },
      });
    }
    for (const name of ["x real ip", "", "x-real-ip:"]) {
      const bad = validateConfig({
        ...minimal,
        gateway: { consumers: { clientAddressHeader: name } },
      });
      expect(refusals(bad)).toEqual([
        "gateway.consumers.clientAddressHeader: must be a header name, such as x-real-ip",
      ]);
    }
  });

  it("lowercases every header name it is given, so each matches Node's lowercase keys", () => {
    const ok = validateConfig({
      ...minimal,
      gateway: {
        consumers: { apiKeyHeader: "X-API-Key", clientAddressHeader: "X-Real-IP" },
        deadlineHeader: " X-Deadline-Ms ",
      },
    });
    expect(ok).toMatchObject({
      ok: true,
      config: {
        gateway: {
          consumers: { apiKeyHeader: "x-api-key", clientAddressHeader: "x-real-ip" },
          deadlineHeader: "x-deadline-ms",
        },
      },
    });
    const bad = validateConfig({
      ...minimal,
      gateway: { consumers: { apiKeyHeader: "api key" }, deadlineHeader: "x-deadline:" },
    });
    expect(refusals(bad)).toEqual([
      "gateway.consumers.apiKeyHeader: must be a header name, such as x-real-ip",
      "gateway.deadlineHeader: must be a header name, such as x-real-ip",
    ]);
  });

  it("takes endpoint addresses as http://host:port and refuses what the gateway would drop", () => {
    const withUrls = (urls: Record<string, string>) =>
      validateConfig({
        upstreams: {
          a: {
            endpoints: Object.fromEntries(Object.entries(urls).map(([k, url]) => [k, { url }])),
          },
        },
        routes: { pay: { match: { pathPrefix: "/p" }, upstream: "a" } },
      });
    const good = withUrls({
      v4: "http://10.0.0.5:8080",
      v6: "http://[::1]:8080",
      slash: "http://a.test/",
    });
    expect(good.ok).toBe(true);
    const bad = withUrls({
      tls: "https://api.test",
      ftp: "ftp://a.test",
      user: "http://svc:secret@a.test:8080",
      path: "http://a.test:8080/api",
      query: "http://a.test:8080?v=2",
      frag: "http://a.test:8080#x",
      junk: "a.test:8080",
    });
    const at = "upstreams.a.endpoints";
    expect(refusals(bad)).toEqual([
      `${at}.tls.url: must be an http:// URL: the gateway does not open TLS connections to upstreams`,
      `${at}.ftp.url: must be an http:// URL, such as http://10.0.0.5:8080`,
      `${at}.user.url: must not carry a user or password: the gateway would not send them`,
      `${at}.path.url: must have no path (/api): each request keeps its own path, less the route's stripPrefix`,
      `${at}.query.url: must have no query or fragment`,
      `${at}.frag.url: must have no query or fragment`,
      `${at}.junk.url: must be an http:// URL, such as http://10.0.0.5:8080`,
    ]);
  });

  it("refuses a health-check path that is no path on the endpoint", () => {
    expect(withHealthPath("/ready?full=1").ok).toBe(true);
    for (const path of ["//health", "health", "", "http://other.test/health", "\\\\other.test"]) {
      const r = withHealthPath(path);
      expect(refusals(r)).toEqual([
        "upstreams.a.healthCheck.path: must be a path starting with a single /, such as /health",
      ]);
    }
  });

  it("refuses a health-check path that a URL parser would send to another host", () => {
    expect(withHealthPath("/health%5Cx").ok).toBe(true);
    // `\` reads as `/` and a tab or newline is dropped: each of these names another host,
    // or no URL at all.
    for (const path of ["/\\other.test:9/health", "/\\", "/\t/other.test", "/\n/x", "/a\u0000"]) {
      expect(refusals(withHealthPath(path)), JSON.stringify(path)).toEqual([
        "upstreams.a.healthCheck.path: must not hold a backslash or a control character: a URL parser reads \\ as / and drops tabs and newlines, so the probe could go to another host (percent-encode them: \\ is %5C)",
      ]);
    }
  });

  it("takes a route's host as the Host header less its port, and refuses one that never matches", () => {
    const withHosts = (hosts: Record<string, string>) =>
      routesMatching(
        Object.fromEntries(
          Object.entries(hosts).map(([id, host]) => [id, { pathPrefix: `/${id}`, host }]),
        ),
      );
    const good = withHosts({ name: " API.Example.com ", v4: "10.0.0.1", v6: "[2001:db8::1]" });
    if (!good.ok) throw new Error(formatIssues(good.issues).join("\n"));
    expect(Object.values(good.config.routes).map((r) => r.match.host)).toEqual([
      "api.example.com",
      "10.0.0.1",
      "[2001:db8::1]",
    ]);
    const bad = withHosts({
      port: "api.example.com:8443",
      wild: "*.example.com",
      v6: "2001:db8::1",
      brackets: "[not-v6]",
      url: "https://api.example.com",
      empty: "",
    });
    expect(refusals(bad)).toEqual([
      "routes.port.match.host: must be a host without its port: the Host header's port is not compared",
      "routes.wild.match.host: must be one host: wildcards are not supported; give each host its own route, or leave host out to match any",
      "routes.v6.match.host: must be an IPv6 address in brackets, as in the Host header: [2001:db8::1]",
      "routes.brackets.match.host: must be an IPv6 address in brackets, such as [2001:db8::1]",
      "routes.url.match.host: must be a host, not a URL, such as api.example.com",
      "routes.empty.match.host: must be a host name or address, such as api.example.com",
    ]);
  });

  it("refuses a path prefix that no request's path can start with", () => {
    const withPrefixes = (prefixes: Record<string, string>) =>
      routesMatching(
        Object.fromEntries(
          Object.entries(prefixes).map(([id, pathPrefix]) => [id, { pathPrefix }]),
        ),
      );
    const good = withPrefixes({
      root: "/",
      plain: "/api/v1",
      encoded: "/caf%C3%A9",
      chars: "/a-b_c.d~e/@user:1;x=y",
      query: "/search?q=",
      dots: "/v1.2/..hidden",
    });
    if (!good.ok) throw new Error(formatIssues(good.issues).join("\n"));
    expect(
      refusals(
        withPrefixes({
          relative: "api",
          frag: "/api#top",
          space: "/my api",
          accent: "/café",
          dot: "/api/../admin",
          here: "/./api",
          encoded: "/api/%2E%2e/admin",
        }),
      ),
    ).toEqual([
      "routes.relative.match.pathPrefix: must start with /",
      "routes.frag.match.pathPrefix: must not hold a #: a request's target never carries one",
      "routes.space.match.pathPrefix: must be written as requests send it: a space, a non-ASCII letter and other such characters are percent-encoded there (a space is %20, é is %C3%A9)",
      "routes.accent.match.pathPrefix: must be written as requests send it: a space, a non-ASCII letter and other such characters are percent-encoded there (a space is %20, é is %C3%A9)",
      "routes.dot.match.pathPrefix: must not have a . or .. segment: the gateway refuses requests whose path has one",
      "routes.here.match.pathPrefix: must not have a . or .. segment: the gateway refuses requests whose path has one",
      "routes.encoded.match.pathPrefix: must not have a . or .. segment: the gateway refuses requests whose path has one",
    ]);
  });

  it("refuses a route that another takes every request of first", () => {
    // Told apart by method, host, or prefix: every route can be matched.
    const good = routesMatching({
      reads: { pathPrefix: "/api", methods: ["GET"] },
      writes: { pathPrefix: "/api", methods: ["POST", "GET"] },
      rest: { pathPrefix: "/api" },
      admin: { pathPrefix: "/api", host: "admin.test" },
      slash: { pathPrefix: "/api/" },
    });
    if (!good.ok) throw new Error(formatIssues(good.issues).join("\n"));
    const bad = routesMatching({
      all: { pathPrefix: "/api" },
      again: { pathPrefix: "/api", methods: ["GET"] },
      get: { pathPrefix: "/v2", methods: ["GET"] },
      post: { pathPrefix: "/v2", methods: ["POST"] },
      both: { pathPrefix: "/v2", methods: ["POST", "GET"] },
      hosted: { pathPrefix: "/v2", host: "a.test" },
      twin: { pathPrefix: "/v2", host: "A.test" },
      none: { pathPrefix: "/none", methods: [] },
    });
    const rest = "first with the same pathPrefix and host, and";
    expect(refusals(bad)).toEqual([
      "routes.none.match.methods: must list at least one method, or be left out to match every method",
      `routes.again.match: never matched: routes.all comes ${rest} takes every method this route lists`,
      `routes.both.match: never matched: routes.get and routes.post come ${rest} take every method this route lists`,
      `routes.twin.match: never matched: routes.hosted comes ${rest} takes every method this route lists`,
    ]);
  });

  it("refuses static-answer headers that would break the answer or that the gateway writes", () => {
    const withHeaders = (headers: Record<string, string>) =>
      validateConfig({
        upstreams: { a: { endpoints: { x: { url: "http://10.0.0.5:8080" } } } },
        routes: {
          shop: { match: { pathPrefix: "/s" }, upstream: "a", fallback: { static: { headers } } },
        },
      });
    const ok = {
      "Content-Type": "application/json",
      "cache-control": "no-store",
      "x-note": "a\tb é",
    };
    expect(withHeaders(ok).ok).toBe(true);
    const at = "routes.shop.fallback.static.headers";
    expect(
      refusals(
        withHeaders({
          "bad name": "x",
          "Content-Length": "3",
          "transfer-encoding": "chunked",
          connection: "close",
          "Proxy-Authenticate": "Basic",
          "X-Request-Id": "fixed",
          "x-split": "a\r\nset-cookie: b",
          "content-type": "text/plain",
          "Content-Type": "text/html",
        }),
      ),
    ).toEqual([
      `${at}.bad name: must be a header name, such as content-type`,
      `${at}.Content-Length: is set by the gateway from the body's length`,
      `${at}.transfer-encoding: is a hop-by-hop or framing field, which a static answer cannot set`,
      `${at}.connection: is a hop-by-hop or framing field, which a static answer cannot set`,
      `${at}.Proxy-Authenticate: is a hop-by-hop or framing field, which a static answer cannot set`,
      `${at}.X-Request-Id: is set by the gateway on every answer`,
      `${at}.x-split: must be a value without line breaks or control characters`,
      `${at}.Content-Type: is given twice, also as content-type`,
    ]);
  });

  it("takes failure statuses as statuses, classes and ranges that some status can match", () => {
    const withStatuses = (failureStatuses: (string | number)[]) =>
      validateConfig({
        upstreams: { a: { endpoints: { x: { url: "http://10.0.0.5:8080" } } } },
        routes: { pay: { match: { pathPrefix: "/p" }, upstream: "a", failureStatuses } },
      });
    expect(withStatuses([429, "5xx", "500-504", "599-599"]).ok).toBe(true);
    const reason =
      "must be a status from 100 to 599, a class such as 5xx, or a range such as 500-504, low to high";
    expect(refusals(withStatuses(["9xx", "504-500", "600-650", "099-200", "5XX"]))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `routes.pay.failureStatuses[${i}]: ${reason}`),
    );
  });

  it("refuses a fallback or a traffic shift to the route's own upstream", () => {
    const r = validateConfig({
      upstreams: {
        a: { endpoints: { x: { url: "http://10.0.0.5:8080" } } },
        b: { endpoints: { x: { url: "http://10.0.0.6:8080" } } },
      },
      routes: {
        ok: { match: { pathPrefix: "/ok" }, upstream: "a", fallback: { upstream: "b" } },
        self: {
          match: { pathPrefix: "/self" },
          upstream: "a",
          fallback: { upstream: "a" },
          shift: { to: "a", percent: 10 },
        },
      },
    });
    expect(refusals(r)).toEqual([
      "routes.self.fallback.upstream: is the route's own upstream 'a': name another one",
      "routes.self.shift.to: is the route's own upstream 'a': name another one",
    ]);
  });

  it("keeps only the keys a route's breaker override writes, with no defaults filled in", () => {
    const r = validateConfig({
      ...minimal,
      routes: {
        pay: { ...minimal.routes.pay, circuitBreaker: { scope: "route" } },
        other: { match: { pathPrefix: "/o" }, upstream: "a", circuitBreaker: {} },
      },
    });
    if (!r.ok) throw new Error(formatIssues(r.issues).join("\n"));
    expect(r.config.routes.pay!.circuitBreaker).toEqual({ scope: "route" });
    expect(r.config.routes.other!.circuitBreaker).toEqual({});
    // Still validated and strict.
    const bad = validateConfig({
      ...minimal,
      routes: {
        pay: { ...minimal.routes.pay, circuitBreaker: { minimumCalls: 0, typo: 1 } },
      },
    });
    expect(refusals(bad).join("\n")).toMatch(/routes\.pay\.circuitBreaker/);
  });

  it("refuses unknown upstream references and unknown keys", () => {
    const r = validateConfig({
      upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
      routes: { pay: { match: { pathPrefix: "/p" }, upstream: "nope", colour: "red" } },
    });
    expect(refusals(r).join("\n")).toContain("routes.pay: Unrecognized key");
  });

  it("refuses references to ids named like Object.prototype members unless one is defined", () => {
    const steps = [
      { action: "set_mode", scope: "route", target: "valueOf", mode: "degraded" },
      { action: "force_breaker", upstream: "constructor", state: "forced_open" },
      { action: "shift_weight", upstream: "hasOwnProperty", weights: { x: 1 } },
      { action: "shift_traffic", route: "toString", to: "a", percent: 10 },
    ];
    const r = validateConfig({
      upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
      routes: {
        pay: { match: { pathPrefix: "/p" }, upstream: "toString" },
        shop: {
          match: { pathPrefix: "/s" },
          upstream: "a",
          fallback: { upstream: "constructor" },
          shift: { to: "valueOf", percent: 10 },
        },
      },
      runbooks: { rb: { title: "t", steps } },
    });
    expect(refusals(r)).toEqual([
      "routes.pay.upstream: unknown upstream 'toString'",
      "routes.shop.fallback.upstream: unknown upstream 'constructor'",
      "routes.shop.shift.to: unknown upstream 'valueOf'",
      "runbooks.rb.steps[0].target: unknown route 'valueOf'",
      "runbooks.rb.steps[1].upstream: unknown upstream 'constructor'",
      "runbooks.rb.steps[2].upstream: unknown upstream 'hasOwnProperty'",
      "runbooks.rb.steps[3].route: unknown route 'toString'",
    ]);
    // Such names are valid ids: defined, they are referred to like any other.
    const defined = validateConfig({
      upstreams: { constructor: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
      routes: { toString: { match: { pathPrefix: "/p" }, upstream: "constructor" } },
    });
    expect(defined.ok).toBe(true);
  });

  it("reads and writes override paths through own keys only", () => {
    const base = validateConfig(minimal);
    if (!base.ok) throw new Error("minimal invalid");
    expect(getAtPath(base.config, "upstreams.toString")).toBeUndefined();
    expect(getAtPath(base.config, "routes.pay.match.hasOwnProperty")).toBeUndefined();
    const written = setAtPath(base.config, "upstreams.toString.weightShiftMs", 5) as {
      upstreams: Record<string, unknown>;
    };
    expect(Object.hasOwn(written.upstreams, "toString")).toBe(true);
    expect(written.upstreams.toString).toEqual({ weightShiftMs: 5 });
    expect(ownEntry(base.config.upstreams, "toString")).toBeUndefined();
    expect(ownEntry(base.config.upstreams, "a")).toBe(base.config.upstreams.a);
  });

  it("applies overrides by path and validates the result", () => {
    const r = parseConfigText(example);
    if (!r.ok) throw new Error("example invalid");
    const base = r.config;
    const ok = applyOverrides(base, [
      { path: "routes.payments.mode", value: "read_only" },
      { path: "upstreams.payments.circuitBreaker.forcedState", value: "forced_open" },
    ]);
    expect(ok.ok && ok.config.routes.payments!.mode).toBe("read_only");
    expect(ok.ok && ok.config.upstreams.payments!.circuitBreaker.forcedState).toBe("forced_open");
    const bad = applyOverrides(base, [{ path: "routes.payments.timeouts.totalMs", value: -1 }]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]!.path).toBe("routes.payments.timeouts.totalMs");
    const proto = applyOverrides(base, [{ path: "__proto__.polluted", value: 1 }]);
    expect(proto.ok).toBe(false);
  });

  it("names the startup-only settings two configs differ in, and only those", () => {
    const r = parseConfigText(example);
    if (!r.ok) throw new Error("example invalid");
    const base = r.config;
    const moved = applyOverrides(base, [
      { path: "gateway.admin", value: { host: "0.0.0.0", port: 9191 } },
      { path: "gateway.limits.keepAliveTimeoutMs", value: 1234 },
      { path: "routes.payments.mode", value: "degraded" },
    ]);
    if (!moved.ok) throw new Error("override invalid");
    expect(startupOnlyChanges(base, moved.config).map((i) => i.path)).toEqual([
      "gateway.admin.host",
      "gateway.admin.port",
    ]);
    expect(startupOnlyChanges(base, base)).toEqual([]);
  });
});
