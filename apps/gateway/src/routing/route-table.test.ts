import { describe, expect, it } from "vitest";
import { loadConfig } from "@rg/core";
import { RouteTable } from "./route-table";

const config = loadConfig({
  upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
  routes: {
    root: { match: { pathPrefix: "/" }, upstream: "a" },
    api: { match: { pathPrefix: "/api" }, upstream: "a", stripPrefix: true },
    apiUsers: { match: { pathPrefix: "/api/users", methods: ["GET"] }, upstream: "a" },
    hosted: { match: { pathPrefix: "/api", host: "example.com" }, upstream: "a" },
  },
});

describe("RouteTable", () => {
  const t = new RouteTable(config);

  it("picks the longest matching prefix on segment boundaries", () => {
    expect(t.match("GET", "h", "/api/users/1")?.route.id).toBe("apiUsers");
    expect(t.match("GET", "h", "/api/usersX")?.route.id).toBe("api");
    expect(t.match("GET", "h", "/apix")?.route.id).toBe("root");
  });

  it("respects methods and hosts", () => {
    expect(t.match("POST", "h", "/api/users/1")?.route.id).toBe("api");
    expect(t.match("GET", "example.com", "/api/x")?.route.id).toBe("hosted");
  });

  it("strips the prefix and keeps the query", () => {
    expect(t.match("GET", "h", "/api/orders?x=1")?.upstreamPath).toBe("/orders?x=1");
    expect(t.match("GET", "h", "/api")?.upstreamPath).toBe("/");
    expect(t.match("GET", "h", "/api?q=1")?.upstreamPath).toBe("/?q=1");
    expect(t.match("GET", "h", "/api/users/2")?.upstreamPath).toBe("/api/users/2");
  });

  it("ends a segment at ';', keeping the parameter when it strips the prefix", () => {
    expect(t.match("GET", "h", "/api/users;v=1")?.route.id).toBe("apiUsers");
    expect(t.match("GET", "h", "/api;v=1")?.upstreamPath).toBe("/;v=1");
    expect(t.match("GET", "h", "/api/usersX;v=1")?.route.id).toBe("api");
  });

  it("matches prefixes in the normal form of request paths", () => {
    const n = new RouteTable(
      loadConfig({
        upstreams: config.upstreams,
        routes: {
          root: { match: { pathPrefix: "/" }, upstream: "a" },
          cafe: { match: { pathPrefix: "/caf%c3%a9//%7eme" }, upstream: "a" },
        },
      }),
    );
    expect(n.routes().map((r) => r.prefix)).toContain("/caf%C3%A9/~me");
    expect(n.match("GET", "h", "/caf%C3%A9/~me/x")?.route.id).toBe("cafe");
  });

  it("returns undefined when nothing matches", () => {
    const only = new RouteTable(
      loadConfig({
        upstreams: config.upstreams,
        routes: { api: { match: { pathPrefix: "/api" }, upstream: "a" } },
      }),
    );
    expect(only.match("GET", "h", "/other")).toBeUndefined();
  });
});
