/**
 * Every spelling of a path is routed, and forwarded, in one normal form: a route's policies
 * cannot be sidestepped by writing its path another way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../src/gateway";
import {
  gatewayFor,
  raw,
  startUpstream,
  statusOf,
  trackUncaught,
  uncaught,
  upstreamConfig,
  type TestUpstream,
} from "./harness";

trackUncaught();

let up: TestUpstream;
let gw: Gateway;

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${req.url} ${req.headers.host}`);
  });
  gw = await gatewayFor({
    upstreams: { svc: upstreamConfig(up.url) },
    routes: {
      payments: { match: { pathPrefix: "/api/payments" }, upstream: "svc", mode: "read_only" },
      admin: {
        match: { pathPrefix: "/", host: "admin.example.com" },
        upstream: "svc",
        mode: "read_only",
      },
      api: { match: { pathPrefix: "/api" }, upstream: "svc" },
      // Written with a lower-case escape: matched in the same normal form as requests.
      cafe: { match: { pathPrefix: "/caf%c3%a9" }, upstream: "svc", mode: "read_only" },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

async function send(method: string, target: string, host = "gw.test") {
  const r = await raw(
    gw.port,
    `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
  return { status: statusOf(r.text), body: r.text.split("\r\n\r\n")[1] ?? "" };
}

describe("path normal form", () => {
  it.each([
    "/api/payments",
    "/api//payments",
    "//api///payments/",
    "/api/%70ayments",
    "/api/%70%61yments",
    "/api/payments;jsessionid=1",
    "/caf%C3%A9",
    "/caf%c3%a9/x",
  ])("applies the route's policies to %j", async (target) => {
    const r = await send("POST", target);
    expect(r.status, r.body).toBe(503);
    expect(r.body).toContain("read-only");
  });

  it.each([
    ["/api//orders//1", "/api/orders/1"],
    ["/api/%7euser/%41%2d%5F", "/api/~user/A-_"],
    ["/api/caf%c3%a9%3b", "/api/caf%C3%A9%3B"],
    ["/api//x?q=a//b&r=%2f%zz", "/api/x?q=a//b&r=%2f%zz"],
    ["/api/x;v=1", "/api/x;v=1"],
  ])("forwards %j as %j, the path it was routed on", async (target, forwarded) => {
    const before = up.requests.length;
    const r = await send("GET", target);
    expect(r.status, r.body).toBe(200);
    expect(up.requests.slice(before).map((q) => q.url)).toEqual([forwarded]);
  });

  it.each([
    ["/api/payments%2Fcharge", /encoded '\/'/],
    ["/api/%2fpayments", /encoded '\/'/],
    ["/api/x%5C..%5Cpayments", /encoded '\/'/],
    ["/api/x/..;/payments", /'\.\.' segment with parameters/],
    ["/api/x/.;a/payments", /segment with parameters/],
    ["/api;x/payments", /only on the path's last segment/],
    ["/api/%u0070ayments", /two hex digits/],
  ])("refuses %j with a 400 problem, forwarding nothing", async (target, why) => {
    const before = up.requests.length;
    const r = await send("POST", target);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).detail).toMatch(why);
    expect(up.requests.length).toBe(before);
  });

  it("matches a Host with a trailing dot, and a port, as the host without it", async () => {
    for (const host of ["admin.example.com.", "ADMIN.example.com.:8080"]) {
      const r = await send("POST", "/x", host);
      expect(r.status, host).toBe(503);
    }
    expect((await send("POST", "/api/x", "admin.example.com..")).status).toBe(200);
  });
});
