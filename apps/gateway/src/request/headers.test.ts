import { describe, expect, it } from "vitest";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { loadConfig } from "@rg/core";
import {
  blockListOf,
  checkTarget,
  clientAddress,
  consumerOf,
  filterRawResponseHeaders,
  forwardedFor,
  frameUpstreamBody,
  hostOf,
  stripHopByHop,
} from "./headers";

const minimal = {
  upstreams: { u: { endpoints: { a: { url: "http://127.0.0.1:1" } } } },
  routes: { r: { match: { pathPrefix: "/" }, upstream: "u" } },
};
const ALL_FORWARDED = {
  xForwardedFor: true,
  xForwardedProto: true,
  xForwardedHost: true,
  rfc7239: true,
};

describe("hop-by-hop stripping", () => {
  it("removes connection-specific fields and those Connection names", () => {
    const h: IncomingHttpHeaders = {
      connection: "keep-alive, x-secret",
      "keep-alive": "timeout=5",
      "x-secret": "1",
      te: "trailers",
      trailer: "x",
      "transfer-encoding": "chunked",
      upgrade: "h2c",
      "proxy-authorization": "basic x",
      "proxy-foo": "y",
      accept: "*/*",
    };
    stripHopByHop(h);
    expect(h).toEqual({ accept: "*/*" });
  });

  it("filters raw response headers, keeping order and repeated fields", () => {
    const raw = [
      "Content-Type",
      "text/plain",
      "Connection",
      "close, X-Hop",
      "X-Hop",
      "1",
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
      "Transfer-Encoding",
      "chunked",
      "Keep-Alive",
      "timeout=5",
    ];
    expect(filterRawResponseHeaders(raw)).toEqual([
      "Content-Type",
      "text/plain",
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
    ]);
  });

  it("drops fields the gateway replaces, named in its own name/value list", () => {
    expect(
      filterRawResponseHeaders(
        ["X-Request-Id", "up-1", "Content-Type", "a/b", "gw-1", "value-not-a-name"],
        ["x-request-id", "gw-1", "cache-status", "content-type-is-a-value"],
      ),
    ).toEqual(["Content-Type", "a/b", "gw-1", "value-not-a-name"]);
  });

  it("makes request ids that are unique version 8 UUIDs", async () => {
    const { newRequestId } = await import("./headers");
    const ids = new Set(Array.from({ length: 10_000 }, () => newRequestId()));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 100))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("quotes a Forwarded host that is not a token", async () => {
    const { prepareUpstreamHeaders } = await import("./headers");
    const req = {
      headers: { host: "gw.test:8080" } as IncomingHttpHeaders,
      socket: { remoteAddress: "::1" },
    } as unknown as Parameters<typeof prepareUpstreamHeaders>[0];
    prepareUpstreamHeaders(req, "id-1", ALL_FORWARDED);
    expect(req.headers.forwarded).toBe('for="[::1]";host="gw.test:8080";proto=http');
    expect(req.headers["x-forwarded-for"]).toBe("::1");
    expect(req.headers["x-request-id"]).toBe("id-1");
  });

  it("adds only the forwarding headers the config turns on (X-Forwarded-For and -Proto by default)", async () => {
    const { prepareUpstreamHeaders } = await import("./headers");
    const make = () =>
      ({
        headers: { host: "gw.test", "x-forwarded-for": "10.0.0.1" } as IncomingHttpHeaders,
        socket: { remoteAddress: "127.0.0.1" },
      }) as unknown as Parameters<typeof prepareUpstreamHeaders>[0];
    const byDefault = make();
    prepareUpstreamHeaders(byDefault, "id-2", loadConfig(minimal).gateway.forwarded);
    expect(byDefault.headers).toEqual({
      host: "gw.test",
      "x-forwarded-for": "10.0.0.1, 127.0.0.1",
      "x-forwarded-proto": "http",
      "x-request-id": "id-2",
    });
    const none = make();
    prepareUpstreamHeaders(none, "id-3", {
      xForwardedFor: false,
      xForwardedProto: false,
      xForwardedHost: false,
      rfc7239: false,
    });
    expect(none.headers).toEqual({
      host: "gw.test",
      "x-forwarded-for": "10.0.0.1",
      "x-request-id": "id-3",
    });
  });
});

describe("framing the forwarded body", () => {
  const req = (method: string, headers: IncomingHttpHeaders) =>
    ({ method, headers }) as unknown as IncomingMessage;

  it("gives a buffered body its length, whatever the method and the client's framing", () => {
    for (const method of ["GET", "HEAD", "DELETE", "OPTIONS", "POST"]) {
      const r = req(method, { "transfer-encoding": "chunked" });
      expect(
        frameUpstreamBody(r, { kind: "buffered", data: Buffer.from("abcde") }, undefined),
      ).toBe(true);
      expect(r.headers).toEqual({ "content-length": "5" });
    }
  });

  it("keeps a streamed body's declared length, even when Connection named it", () => {
    const r = req("GET", {});
    expect(frameUpstreamBody(r, { kind: "stream" }, "70000")).toBe(true);
    expect(r.headers).toEqual({ "content-length": "70000" });
  });

  it("chunks a streamed body of unknown length where Node would, and refuses it elsewhere", () => {
    const post = req("POST", { "transfer-encoding": "chunked" });
    expect(frameUpstreamBody(post, { kind: "stream" }, undefined)).toBe(true);
    expect(post.headers).toEqual({ "transfer-encoding": "chunked" });
    for (const method of ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"])
      expect(frameUpstreamBody(req(method, {}), { kind: "stream" }, undefined), method).toBe(false);
  });

  it("never lets Connection take the Host away", () => {
    const h: IncomingHttpHeaders = { connection: "host, x-a", host: "shop.example", "x-a": "1" };
    stripHopByHop(h);
    expect(h).toEqual({ host: "shop.example" });
  });
});

describe("request target and Host", () => {
  const req = (url: string, raw: string[], version = "1.1") => {
    const headers: IncomingHttpHeaders = {};
    for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] ??= raw[i + 1];
    const [major, minor] = version.split(".").map(Number);
    return {
      url,
      rawHeaders: raw,
      headers,
      httpVersion: version,
      httpVersionMajor: major,
      httpVersionMinor: minor,
    } as unknown as IncomingMessage;
  };

  it("routes an origin-form target and takes an absolute-form target's authority as Host", () => {
    expect(checkTarget(req("/api/x?q=1", ["Host", "gw.test"]))).toEqual({
      ok: true,
      path: "/api/x?q=1",
    });
    const abs = req("http://other.example:8080?q=1", ["Host", "gw.test"]);
    expect(checkTarget(abs)).toEqual({ ok: true, path: "/?q=1" });
    expect(abs.headers.host).toBe("other.example:8080");
    expect(checkTarget(req("/x", [], "1.0"))).toEqual({ ok: true, path: "/x" });
    expect(checkTarget(req("/x", ["Host", "[::1]:8080"])).ok).toBe(true);
  });

  it("gives the path in its normal form, from either target form", () => {
    expect(checkTarget(req("/api//%6cogin?next=//x", ["Host", "a"]))).toEqual({
      ok: true,
      path: "/api/login?next=//x",
    });
    expect(checkTarget(req("http://a//b/%7e", ["Host", "a"]))).toEqual({ ok: true, path: "/b/~" });
  });

  it("refuses what RFC 9112 says a server must refuse, naming the reason", () => {
    const cases: [IncomingMessage, RegExp][] = [
      [req("/x", []), /needs a Host/],
      [req("/x", ["Host", "a", "host", "b"]), /more than one Host/],
      [req("/x", ["Host", "user@a"]), /not a valid host/],
      [req("/x", ["Host", "a:http"]), /not a valid host/],
      [req("http://u@a/x", ["Host", "a"]), /authority/],
      [req("*", ["Host", "a"]), /absolute path/],
      [req("/x#f", ["Host", "a"]), /fragment/],
      [req("/x/../y", ["Host", "a"]), /segment/],
      [req("/x/%2e%2E/y", ["Host", "a"]), /segment/],
      [req("/x/..;a/y", ["Host", "a"]), /segment with parameters/],
      [req("/x%2Fy", ["Host", "a"]), /encoded/],
      [req("/x", ["Host", "a"], "0.9"), /HTTP\/0\.9/],
    ];
    for (const [r, why] of cases) {
      const c = checkTarget(r);
      expect(c.ok, r.url).toBe(false);
      if (!c.ok) {
        expect(c.code).toBe("RG_BAD_REQUEST");
        expect(c.detail).toMatch(why);
      }
    }
    const v2 = checkTarget(req("/x", ["Host", "a"], "2.0"));
    expect(v2).toMatchObject({ ok: false, code: "RG_VERSION_NOT_SUPPORTED" });
  });
});

describe("hostOf", () => {
  const of = (host?: string) => hostOf({ headers: { host } } as unknown as IncomingMessage);

  it("is the host in lower case, without its port or one trailing dot", () => {
    expect(of("Admin.Example.com")).toBe("admin.example.com");
    expect(of("admin.example.com.")).toBe("admin.example.com");
    expect(of("ADMIN.example.com.:8080")).toBe("admin.example.com");
    expect(of("admin.example.com..")).toBe("admin.example.com.");
    expect(of("[::1]:8080")).toBe("[::1]");
    expect(of(".")).toBe("");
    expect(of(undefined)).toBe("");
  });
});

describe("consumerOf", () => {
  const req = (headers: IncomingHttpHeaders) =>
    ({ headers, socket: { remoteAddress: "10.0.0.7" } }) as unknown as IncomingMessage;
  const consumers = (extra: Record<string, unknown> = {}) =>
    loadConfig({
      ...minimal,
      gateway: { consumers: { tiers: { "k-gold": "gold" }, ...extra } },
    }).gateway.consumers;

  it("knows a listed key by the key, with its tier", () => {
    expect(consumerOf(req({ "x-api-key": "k-gold" }), consumers())).toEqual({
      key: "key:k-gold",
      tier: "gold",
    });
  });

  it("knows a client by its address without a key, and by default with a key not listed", () => {
    const byAddress = { key: "ip:10.0.0.7", tier: "default" };
    expect(consumerOf(req({}), consumers())).toEqual(byAddress);
    // Made-up keys buy no limit of their own: every one of them is the same client.
    expect(consumerOf(req({ "x-api-key": "made-up-1" }), consumers())).toEqual(byAddress);
    expect(consumerOf(req({ "x-api-key": "made-up-2" }), consumers())).toEqual(byAddress);
  });

  it("takes any key as the consumer with unknownKeys: key", () => {
    expect(consumerOf(req({ "x-api-key": "k-new" }), consumers({ unknownKeys: "key" }))).toEqual({
      key: "key:k-new",
      tier: "default",
    });
  });

  it("reads the configured header, the first of several", () => {
    const c = consumers({ apiKeyHeader: "x-client", unknownKeys: "key" });
    expect(consumerOf(req({ "x-client": ["a", "b"] as never }), c).key).toBe("key:a");
    expect(consumerOf(req({ "x-api-key": "k-gold" }), c).key).toBe("ip:10.0.0.7");
    // Named in any case in the config, it still matches Node's lowercase header keys.
    const mixed = consumers({ apiKeyHeader: "X-Client", unknownKeys: "key" });
    expect(consumerOf(req({ "x-client": "a" }), mixed).key).toBe("key:a");
  });
});

describe("clientAddress", () => {
  const req = (xff?: string) =>
    ({
      headers: xff === undefined ? {} : { "x-forwarded-for": xff },
      socket: { remoteAddress: "10.0.0.9" },
    }) as unknown as IncomingMessage;

  it("is the connection's address without trusted proxies, whatever X-Forwarded-For says", () => {
    expect(clientAddress(req("203.0.113.5"), 0)).toBe("10.0.0.9");
  });

  it("is what the outermost trusted proxy appended, never what the client wrote before it", () => {
    // The client forged the first entry; the load balancer appended what it saw.
    expect(clientAddress(req("6.6.6.6, 203.0.113.5"), 1)).toBe("203.0.113.5");
    // Two proxies: the outer one appended the client, the inner one the outer's address.
    expect(clientAddress(req("6.6.6.6,203.0.113.5, 192.168.1.2"), 2)).toBe("203.0.113.5");
  });

  it("falls back to the connection's address when the request did not pass the proxies", () => {
    expect(clientAddress(req(), 1)).toBe("10.0.0.9");
    expect(clientAddress(req("203.0.113.5"), 2)).toBe("10.0.0.9");
    expect(clientAddress(req("203.0.113.5, "), 1)).toBe("10.0.0.9");
  });

  it("gives the consumer its key", () => {
    const consumers = loadConfig({ ...minimal, gateway: { consumers: { trustedProxyHops: 1 } } })
      .gateway.consumers;
    expect(consumerOf(req("6.6.6.6, 203.0.113.5"), consumers).key).toBe("ip:203.0.113.5");
  });

  it("takes the address without the port some proxies append, and never one that is no address", () => {
    expect(clientAddress(req("203.0.113.5:41234"), 1)).toBe("203.0.113.5");
    expect(clientAddress(req("[2001:db8::1]:443"), 1)).toBe("2001:db8::1");
    expect(clientAddress(req("2001:db8::1"), 1)).toBe("2001:db8::1");
    expect(clientAddress(req("unknown"), 1)).toBe("10.0.0.9");
    expect(clientAddress(req("[2001:db8::1"), 1)).toBe("10.0.0.9");
  });
});

describe("clientAddress behind a list of trusted proxies", () => {
  const req = (remoteAddress: string, xff?: string) =>
    ({
      headers: xff === undefined ? {} : { "x-forwarded-for": xff },
      socket: { remoteAddress },
    }) as unknown as IncomingMessage;
  const trusted = blockListOf(["10.0.0.0/8", "192.168.1.2", "fd00::/8"]);

  it("reads X-Forwarded-For only on a connection from a trusted proxy", () => {
    expect(clientAddress(req("10.0.0.9", "203.0.113.5"), trusted)).toBe("203.0.113.5");
    // A client that reaches the gateway directly cannot pick its address.
    expect(clientAddress(req("198.51.100.7", "203.0.113.5"), trusted)).toBe("198.51.100.7");
    expect(clientAddress(req("10.0.0.9"), trusted)).toBe("10.0.0.9");
  });

  it("skips every trusted proxy from the right, whatever their number", () => {
    expect(clientAddress(req("10.0.0.9", "6.6.6.6, 203.0.113.5"), trusted)).toBe("203.0.113.5");
    expect(
      clientAddress(req("10.0.0.9", "6.6.6.6, 203.0.113.5, 192.168.1.2, 10.1.2.3"), trusted),
    ).toBe("203.0.113.5");
    // Two headers are one list, in order.
    const two = req("10.0.0.9");
    two.headers["x-forwarded-for"] = ["6.6.6.6, 203.0.113.5", "10.1.2.3"] as unknown as string;
    expect(clientAddress(two, trusted)).toBe("203.0.113.5");
  });

  it("matches IPv6 ranges and IPv4 peers seen as IPv4-mapped IPv6", () => {
    expect(clientAddress(req("fd00::1", "2001:db8::7, fd12::3"), trusted)).toBe("2001:db8::7");
    expect(clientAddress(req("::ffff:10.0.0.9", "203.0.113.5"), trusted)).toBe("203.0.113.5");
  });

  it("is the leftmost entry when every one is a trusted proxy, the last good one before an entry that is no address", () => {
    expect(clientAddress(req("10.0.0.9", "10.4.4.4, 10.1.2.3"), trusted)).toBe("10.4.4.4");
    expect(clientAddress(req("10.0.0.9", "garbage, 10.1.2.3"), trusted)).toBe("10.1.2.3");
    expect(clientAddress(req("10.0.0.9", "garbage"), trusted)).toBe("10.0.0.9");
  });

  it("gives the consumer its key, with the list built once per config", () => {
    const consumers = loadConfig({
      ...minimal,
      gateway: { consumers: { trustedProxies: ["10.0.0.0/8"] } },
    }).gateway.consumers;
    expect(consumerOf(req("10.0.0.9", "6.6.6.6, 203.0.113.5"), consumers).key).toBe(
      "ip:203.0.113.5",
    );
    expect(consumerOf(req("203.0.113.9", "203.0.113.5"), consumers).key).toBe("ip:203.0.113.9");
    expect(blockListOf(consumers.trustedProxies)).toBe(blockListOf(consumers.trustedProxies));
  });
});

describe("forwardedFor", () => {
  it("takes each element's for= value, unquoted, whatever its case and place", () => {
    expect(forwardedFor("for=192.0.2.60;proto=http;by=203.0.113.43")).toEqual(["192.0.2.60"]);
    expect(forwardedFor('For="[2001:db8:cafe::17]:4711", proto=https;FOR=198.51.100.17')).toEqual([
      "[2001:db8:cafe::17]:4711",
      "198.51.100.17",
    ]);
    expect(forwardedFor('for=unknown, for="_hidden", for=_SEVKISEK')).toEqual([
      "unknown",
      "_hidden",
      "_SEVKISEK",
    ]);
  });

  it("never cuts inside a quoted string, and gives an element without for= as empty", () => {
    // A comma or semicolon inside quotes belongs to the value (here a host), not the list.
    expect(forwardedFor('host="a,b;c";for=192.0.2.1, proto=http')).toEqual(["192.0.2.1", ""]);
    expect(forwardedFor('for="192.0.2.\\9"')).toEqual(["192.0.2.9"]);
    expect(forwardedFor("")).toEqual([""]);
  });
});

describe("clientAddress from a header the config names", () => {
  const req = (remoteAddress: string, headers: IncomingHttpHeaders) =>
    ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;
  const trusted = blockListOf(["10.0.0.0/8"]);
  const consumersReading = (clientAddressHeader: string) =>
    loadConfig({
      ...minimal,
      gateway: { consumers: { trustedProxies: ["10.0.0.0/8"], clientAddressHeader } },
    }).gateway.consumers;

  describe("Forwarded", () => {
    it("reads the for= the trusted proxies appended, port and brackets dropped", () => {
      const fwd = { forwarded: 'for=6.6.6.6, for="[2001:db8::5]:4711";proto=https, for=10.1.2.3' };
      expect(clientAddress(req("10.0.0.9", fwd), trusted, "forwarded")).toBe("2001:db8::5");
      expect(clientAddress(req("10.0.0.9", fwd), 2, "forwarded")).toBe("2001:db8::5");
      expect(clientAddress(req("10.0.0.9", fwd), 1, "forwarded")).toBe("10.1.2.3");
      // Only from a trusted proxy, as with X-Forwarded-For.
      expect(clientAddress(req("198.51.100.7", fwd), trusted, "forwarded")).toBe("198.51.100.7");
    });

    it("reads only the header it is told, so a client cannot pick its address through the other", () => {
      const both = { forwarded: "for=203.0.113.5", "x-forwarded-for": "6.6.6.6" };
      expect(clientAddress(req("10.0.0.9", both), trusted, "forwarded")).toBe("203.0.113.5");
      expect(clientAddress(req("10.0.0.9", both), 1, "forwarded")).toBe("203.0.113.5");
      expect(clientAddress(req("10.0.0.9", both), trusted)).toBe("6.6.6.6");
      expect(clientAddress(req("10.0.0.9", { "x-forwarded-for": "6.6.6.6" }), 1, "forwarded")).toBe(
        "10.0.0.9",
      );
    });

    it("counts unknown, obfuscated and missing for= as no address", () => {
      const at = (forwarded: string, trust: number | typeof trusted) =>
        clientAddress(req("10.0.0.9", { forwarded }), trust, "forwarded");
      expect(at("for=203.0.113.5, for=unknown", 1)).toBe("10.0.0.9");
      expect(at('for=203.0.113.5, for="_gw2"', 1)).toBe("10.0.0.9");
      expect(at("for=203.0.113.5, proto=https", 1)).toBe("10.0.0.9");
      expect(at("for=203.0.113.5, for=unknown, for=10.2.2.2", trusted)).toBe("10.2.2.2");
    });

    it("gives the consumer its key with clientAddressHeader: forwarded", () => {
      const consumers = consumersReading("forwarded");
      const headers = { forwarded: "for=203.0.113.5;proto=https", "x-forwarded-for": "6.6.6.6" };
      expect(consumerOf(req("10.0.0.9", headers), consumers).key).toBe("ip:203.0.113.5");
    });
  });

  describe("another header", () => {
    it("reads X-Real-IP from a trusted proxy, and never X-Forwarded-For", () => {
      const headers = { "x-real-ip": "203.0.113.5", "x-forwarded-for": "6.6.6.6" };
      expect(clientAddress(req("10.0.0.9", headers), trusted, "x-real-ip")).toBe("203.0.113.5");
      expect(clientAddress(req("10.0.0.9", headers), 1, "x-real-ip")).toBe("203.0.113.5");
      // From anywhere else it is the client's own say.
      expect(clientAddress(req("198.51.100.7", headers), trusted, "x-real-ip")).toBe(
        "198.51.100.7",
      );
      const onlyXff = req("10.0.0.9", { "x-forwarded-for": "6.6.6.6" });
      expect(clientAddress(onlyXff, trusted, "x-real-ip")).toBe("10.0.0.9");
      expect(clientAddress(onlyXff, 1, "x-real-ip")).toBe("10.0.0.9");
    });

    it("reads a repeated header as a list, rightmost first, ports dropped and junk no address", () => {
      // Node joins repeated headers with ", ": the proxy's is the last.
      const twice = { "cf-connecting-ip": "6.6.6.6, [2001:db8::7]:443" };
      expect(clientAddress(req("10.0.0.9", twice), trusted, "cf-connecting-ip")).toBe(
        "2001:db8::7",
      );
      expect(clientAddress(req("10.0.0.9", twice), 2, "cf-connecting-ip")).toBe("6.6.6.6");
      const junk = { "x-real-ip": "not-an-address" };
      expect(clientAddress(req("10.0.0.9", junk), trusted, "x-real-ip")).toBe("10.0.0.9");
      expect(clientAddress(req("10.0.0.9", junk), 1, "x-real-ip")).toBe("10.0.0.9");
    });

    it("gives the consumer its key with a header named in any case in the config", () => {
      const consumers = consumersReading("X-Real-IP");
      const headers = { "x-real-ip": "203.0.113.5", "x-forwarded-for": "6.6.6.6" };
      expect(consumerOf(req("10.0.0.9", headers), consumers).key).toBe("ip:203.0.113.5");
    });
  });
});
