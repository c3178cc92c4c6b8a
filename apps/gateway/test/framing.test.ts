/**
 * HTTP/1.1 framing and request-handling edge cases on the traffic port (RFC 9110 / 9112),
 * probed with raw sockets: Content-Length and chunked framing, header syntax, pipelining,
 * 100-continue, connection management, Host, request-target forms, CONNECT and upgrades,
 * request-line limits, HEAD and GET with a body. Cases hardening.test.ts covers (TE+CL, an
 * obfuscated Transfer-Encoding, 431, bad header names, slowloris, hop-by-hop) are not repeated.
 *
 * The contract asserted throughout: an answer the gateway makes itself is an RFC 9457
 * problem+json with a 4xx/5xx status, a malformed request never reaches the upstream, and a
 * connection whose framing broke is closed.
 */
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../src/gateway";
import {
  gatewayFor,
  startUpstream,
  trackUncaught,
  uncaught,
  upstreamConfig,
  type TestUpstream,
} from "./harness";
import {
  H,
  Wire,
  expectProblem,
  parseResponses,
  type Exchange,
  type Parsed,
  type WireResponse,
} from "./wire";

trackUncaught();

const REQUEST_TIMEOUT_MS = 1500;
const MAX_BODY = 4000;
const RETRY_BODY = 500;

let up: TestUpstream;
/** Every request whose head reached the upstream, complete or not (`up.requests` has only complete ones). */
const arrivals: string[] = [];
/** What the upstream saw of the three pipelined requests, in order. */
const pipelineOrder: string[] = [];
/** An upstream that answers before it has read the request body. */
let early: http.Server;
const earlyArrivals: string[] = [];
let gw: Gateway;

beforeAll(async () => {
  up = await startUpstream((req, res, body) => {
    const reply = () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ url: req.url, method: req.method, body }));
    };
    if (req.url === "/api/pipe1") {
      // Held for a moment: the gateway works through a connection's pipelined requests one
      // at a time, so the two behind this one must not reach the upstream before it is
      // answered (see `pipelineOrder`).
      setTimeout(() => {
        pipelineOrder.push("answered /api/pipe1");
        reply();
      }, 100);
      return;
    }
    if (req.url === "/api/head") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "11" });
      res.end(req.method === "HEAD" ? undefined : "hello world");
      return;
    }
    if (req.url === "/api/chunky") {
      // No Content-Length: the upstream answers chunked.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("part1-");
      res.end("part2");
      return;
    }
    reply();
  });
  up.server.prependListener("request", (req: IncomingMessage) => {
    arrivals.push(req.url ?? "");
    if (/^\/api\/pipe\d$/.test(req.url ?? "")) pipelineOrder.push(`arrived ${req.url}`);
  });

  early = http.createServer((req, res) => {
    earlyArrivals.push(req.url ?? "");
    req.on("error", () => {});
    req.resume();
    res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
    res.end("early");
  });
  await new Promise<void>((r) => early.listen(0, "127.0.0.1", r));
  const earlyUrl = `http://127.0.0.1:${(early.address() as AddressInfo).port}`;

  gw = await gatewayFor({
    gateway: {
      limits: {
        maxHeaderBytes: 16_384,
        headersTimeoutMs: 1000,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        maxBodyBytes: MAX_BODY,
        retryBodyBytes: RETRY_BODY,
      },
    },
    upstreams: { svc: upstreamConfig(up.url), early: upstreamConfig(earlyUrl) },
    routes: {
      api: { match: { pathPrefix: "/api" }, upstream: "svc" },
      early: { match: { pathPrefix: "/early" }, upstream: "early" },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  early?.closeAllConnections();
  await new Promise<void>((r) => (early ? early.close(() => r()) : r()));
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

// ---------------------------------------------------------------------------------------------
// Raw wire helpers

/**
 * Send `bytes` on a new connection and wait for `finals` final responses; with `waitClose`,
 * also for the gateway to close the connection (bounded by `closeMs`).
 */
async function exchange(
  bytes: string,
  opts: {
    finals?: number;
    methods?: string[];
    /** Also wait for the close; a predicate decides from the responses received so far. */
    waitClose?: boolean | ((p: Parsed) => boolean);
    closeMs?: number;
  } = {},
): Promise<Exchange> {
  const w = new Wire(gw.port);
  w.send(bytes);
  const want = opts.finals ?? 1;
  await w.waitFor(() => parseResponses(w.text, opts.methods).finals.length >= want, 5000);
  const waitClose =
    typeof opts.waitClose === "function"
      ? opts.waitClose(parseResponses(w.text, opts.methods))
      : opts.waitClose === true;
  if (waitClose) await w.waitFor(() => w.closed, opts.closeMs ?? 3000);
  const closed = w.closed;
  const text = w.text;
  w.destroy();
  return { ...parseResponses(text, opts.methods, closed), closed, text };
}

/** Complete requests the upstream received for this path. */
function reached(path: string): number {
  return up.requests.filter((q) => q.url === path).length;
}

/** Requests whose head reached the upstream for this path, complete or not. */
function headsAt(path: string): number {
  return arrivals.filter((u) => u === path).length;
}

/**
 * The gateway refused the request with one problem+json answer, closed the connection, sent
 * nothing else, and the upstream never saw it (not even the head, unless `streamed`).
 */
async function expectRefused(
  bytes: string,
  path: string,
  status = 400,
  opts: { streamed?: boolean } = {},
): Promise<Exchange> {
  // A request that was (wrongly) served keeps its connection: no point waiting for a close.
  const r = await exchange(bytes, { waitClose: (p) => (p.finals[0]?.status ?? 400) >= 400 });
  expect(r.finals.map((f) => f.status)).toEqual([status]);
  expectProblem(r.finals[0], status);
  expect(r.rest).toBe("");
  expect(r.closed).toBe(true);
  expect(reached(path)).toBe(0);
  if (!opts.streamed) expect(headsAt(path)).toBe(0);
  return r;
}

function echo(r: WireResponse | undefined): { url: string; method: string; body: string } {
  expect(r?.status).toBe(200);
  return JSON.parse(r!.body) as { url: string; method: string; body: string };
}

// ---------------------------------------------------------------------------------------------

describe("Content-Length", () => {
  it("refuses two Content-Length lines with different values", async () => {
    await expectRefused(
      `PUT /api/cl-two HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
      "/api/cl-two",
    );
  });

  it("refuses two identical Content-Length lines (RFC 9110 §8.6 lets a recipient refuse)", async () => {
    await expectRefused(
      `PUT /api/cl-same HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
      "/api/cl-same",
    );
  });

  it.each([
    ["a list", "1, 2", "cl-list"],
    ["a sign", "+5", "cl-plus"],
    ["hex", "0x5", "cl-hex"],
    ["a negative", "-1", "cl-neg"],
    ["a fraction", "5.0", "cl-frac"],
    ["an overflow", "99999999999999999999999", "cl-huge"],
    ["an empty value", "", "cl-empty"],
  ])("refuses %s (%j)", async (_what, value, path) => {
    await expectRefused(
      `PUT /api/${path} HTTP/1.1\r\n${H}Content-Length: ${value}\r\n\r\nhello`,
      `/api/${path}`,
    );
  });

  it("accepts optional whitespace around the value and leading zeros", async () => {
    // OWS is not part of a field value (RFC 9110 §5.5); 1*DIGIT allows leading zeros.
    const r = await exchange(
      `PUT /api/cl-ows HTTP/1.1\r\n${H}Content-Length:  5 \r\n\r\nhello` +
        `PUT /api/cl-zeros HTTP/1.1\r\n${H}Content-Length: 005\r\nConnection: close\r\n\r\nworld`,
      { finals: 2 },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/cl-ows", body: "hello" });
    expect(echo(r.finals[1])).toMatchObject({ url: "/api/cl-zeros", body: "world" });
  });

  it("answers a body cut short by the client's FIN with a 400 and forwards nothing complete", async () => {
    for (const method of ["PUT", "POST"]) {
      const path = `/api/cl-short-${method.toLowerCase()}`;
      const w = new Wire(gw.port);
      w.send(`${method} ${path} HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nhello`);
      w.end();
      expect(await w.waitFor(() => w.closed, 3000)).toBe(true);
      const r = parseResponses(w.text, [], true);
      expectProblem(r.finals[0], 400);
      expect(r.finals).toHaveLength(1);
      expect(reached(path)).toBe(0);
    }
    // A buffered (replayable) body is never started upstream; a streamed POST may have its
    // head forwarded before the body breaks, but never completes there.
    expect(headsAt("/api/cl-short-put")).toBe(0);
  });
});

describe("chunked bodies", () => {
  const chunked = (path: string, body: string, method = "PUT") =>
    `${method} ${path} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`;

  it.each([
    ["an invalid chunk size", "zz\r\nhello\r\n0\r\n\r\n", "ch-bad-size"],
    ["a chunk size overflow", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "ch-overflow"],
    ["a negative chunk size", "-5\r\nhello\r\n0\r\n\r\n", "ch-negative"],
    ["a chunk without its CRLF", "5\r\nhelloXX0\r\n\r\n", "ch-no-crlf"],
    ["bare LF chunk framing", "5\nhello\n0\n\n", "ch-bare-lf"],
    ["a space before the size", " 5\r\nhello\r\n0\r\n\r\n", "ch-lead-space"],
  ])("refuses %s", async (_what, body, path) => {
    await expectRefused(chunked(`/api/${path}`, body), `/api/${path}`);
  });

  it("refuses an invalid chunk size on a streamed POST; the upstream never gets a complete request", async () => {
    await expectRefused(
      chunked("/api/ch-bad-post", "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n", "POST"),
      "/api/ch-bad-post",
      400,
      { streamed: true },
    );
  });

  it("refuses oversized chunk extensions with a 4xx problem", async () => {
    const r = await exchange(
      chunked("/api/ch-ext-big", `5;${"a=b;".repeat(5000)}\r\nhello\r\n0\r\n\r\n`),
      { waitClose: true },
    );
    expect(r.finals).toHaveLength(1);
    expect(r.finals[0]!.status).toBeGreaterThanOrEqual(400);
    expect(r.finals[0]!.status).toBeLessThan(500);
    expectProblem(r.finals[0], r.finals[0]!.status);
    expect(r.closed).toBe(true);
    expect(headsAt("/api/ch-ext-big")).toBe(0);
  });

  it("ignores chunk extensions (RFC 9112 §7.1.1) and forwards the body intact", async () => {
    const r = await exchange(
      chunked("/api/ch-ext", '5;name=value;quoted="a b"\r\nhello\r\n6;x\r\n world\r\n0\r\n\r\n'),
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/ch-ext", body: "hello world" });
  });

  it("accepts a trailer section, buffered and streamed, and forwards the body intact", async () => {
    const r = await exchange(
      chunked("/api/ch-trailer-put", "5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n") +
        chunked("/api/ch-trailer-post", "5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n", "POST"),
      { finals: 2 },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/ch-trailer-put", body: "hello" });
    expect(echo(r.finals[1])).toMatchObject({ url: "/api/ch-trailer-post", body: "hello" });
  });

  it("refuses a framing field smuggled into the trailer section", async () => {
    // RFC 9110 §6.5.1: framing fields cannot be trailers; refusing the message is the safe side.
    await expectRefused(
      chunked("/api/ch-trailer-cl", "5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n"),
      "/api/ch-trailer-cl",
    );
  });

  it("answers 408 when the final CRLF never comes, without forwarding anything", async () => {
    const w = new Wire(gw.port);
    const started = Date.now();
    w.send(chunked("/api/ch-no-final", "5\r\nhello\r\n0\r\n"));
    expect(await w.waitFor(() => w.closed, REQUEST_TIMEOUT_MS + 3000)).toBe(true);
    const r = parseResponses(w.text, [], true);
    expectProblem(r.finals[0], 408);
    expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    expect(headsAt("/api/ch-no-final")).toBe(0);
  });

  it("answers a chunked body cut short by the client's FIN with a 400", async () => {
    const w = new Wire(gw.port);
    w.send(chunked("/api/ch-fin", "5\r\nhello\r\n"));
    w.end();
    expect(await w.waitFor(() => w.closed, 3000)).toBe(true);
    expectProblem(parseResponses(w.text, [], true).finals[0], 400);
    expect(headsAt("/api/ch-fin")).toBe(0);
  });
});

describe("header syntax", () => {
  it.each([
    ["obs-fold (a continuation line)", "X-A: one\r\n two\r\n", "hs-fold"],
    ["obs-fold with a tab", "X-A: one\r\n\ttwo\r\n", "hs-fold-tab"],
    ["a space before the colon", "X-Thing : 1\r\n", "hs-space-colon"],
    ["a space before the colon of Content-Length", "Content-Length : 0\r\n", "hs-space-cl"],
    ["a tab before the colon", "X-Thing\t: 1\r\n", "hs-tab-colon"],
    ["a bare CR inside a value", "X-A: a\rb\r\n", "hs-bare-cr"],
    ["a NUL inside a value", "X-A: a\u0000b\r\n", "hs-nul"],
    ["an empty field name", ": value\r\n", "hs-empty-name"],
    ["a line without a colon", "NoColonHere\r\n", "hs-no-colon"],
  ])("refuses %s", async (_what, line, path) => {
    await expectRefused(`GET /api/${path} HTTP/1.1\r\n${H}${line}\r\n`, `/api/${path}`);
  });

  it("refuses whitespace between the request line and the first field (RFC 9112 §2.2)", async () => {
    await expectRefused(`GET /api/hs-first-ws HTTP/1.1\r\n X-A: 1\r\n${H}\r\n`, "/api/hs-first-ws");
  });

  it("refuses bare LF line endings (RFC 9112 §2.2 lets a recipient refuse them)", async () => {
    await expectRefused("GET /api/hs-bare-lf HTTP/1.1\nHost: gw.test\n\n", "/api/hs-bare-lf");
  });

  it("ignores empty lines before the request line (RFC 9112 §2.2)", async () => {
    const r = await exchange(`\r\n\r\nGET /api/hs-lead-crlf HTTP/1.1\r\n${H}\r\n`);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/hs-lead-crlf" });
  });
});

describe("pipelining", () => {
  it("answers three GETs sent in one write in order, one after another, each with its own upstream request", async () => {
    const r = await exchange(
      `GET /api/pipe1 HTTP/1.1\r\n${H}\r\nGET /api/pipe2 HTTP/1.1\r\n${H}\r\n` +
        `GET /api/pipe3 HTTP/1.1\r\n${H}\r\n`,
      { finals: 3 },
    );
    expect(r.finals.map((f) => echo(f).url)).toEqual(["/api/pipe1", "/api/pipe2", "/api/pipe3"]);
    expect(r.rest).toBe("");
    expect([reached("/api/pipe1"), reached("/api/pipe2"), reached("/api/pipe3")]).toEqual([
      1, 1, 1,
    ]);
    // One at a time: the second reached the upstream only after the first was answered.
    expect(pipelineOrder).toEqual([
      "arrived /api/pipe1",
      "answered /api/pipe1",
      "arrived /api/pipe2",
      "arrived /api/pipe3",
    ]);
  });

  it("keeps a pipelined request after a POST body out of that body", async () => {
    const r = await exchange(
      `POST /api/pipe-post HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello` +
        `GET /api/pipe-after HTTP/1.1\r\n${H}\r\n`,
      { finals: 2 },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/pipe-post", body: "hello" });
    expect(echo(r.finals[1])).toMatchObject({ url: "/api/pipe-after", body: "" });
  });

  it("answers a gateway problem and a proxied answer on one connection in order", async () => {
    const r = await exchange(
      `GET /nowhere HTTP/1.1\r\n${H}\r\nGET /api/pipe-404 HTTP/1.1\r\n${H}\r\n`,
      { finals: 2 },
    );
    expectProblem(r.finals[0], 404);
    expect(echo(r.finals[1])).toMatchObject({ url: "/api/pipe-404" });
  });

  it("answers a valid request before refusing the malformed one pipelined behind it", async () => {
    // The first request is forwarded and executed; its answer must not be replaced by the
    // 400 for the second, or a client retries (and repeats) a request that already ran.
    const r = await exchange(
      `GET /api/pipe-ok HTTP/1.1\r\n${H}\r\n` +
        `GET /api/pipe-bad HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
      { finals: 2, waitClose: true },
    );
    expect(reached("/api/pipe-ok")).toBe(1);
    expect(r.finals.map((f) => f.status)).toEqual([200, 400]);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/pipe-ok" });
    expectProblem(r.finals[1], 400);
    expect(r.closed).toBe(true);
    expect(headsAt("/api/pipe-bad")).toBe(0);
  });
});

describe("Expect: 100-continue", () => {
  /** Send the head, wait for the 100, then the body; return what came back. */
  async function continued(head: string, body: string) {
    const w = new Wire(gw.port);
    w.send(head);
    const got100 = await w.waitFor(() => parseResponses(w.text).interim.length > 0, 3000);
    const finalBeforeBody = parseResponses(w.text).finals.length;
    if (got100) w.send(body);
    await w.waitFor(() => w.closed, 3000);
    const r = parseResponses(w.text, [], true);
    w.destroy();
    return { got100, finalBeforeBody, ...r };
  }

  it("sends 100 Continue before the body and forwards a small body intact", async () => {
    const r = await continued(
      `PUT /api/exp-small HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`,
      "hello",
    );
    expect(r.got100).toBe(true);
    expect(r.interim.map((i) => i.status)).toEqual([100]);
    expect(r.finalBeforeBody).toBe(0);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/exp-small", body: "hello" });
    // The gateway consumed the expectation; the upstream is not left waiting for a 100.
    expect(up.requests.find((q) => q.url === "/api/exp-small")!.headers.expect).toBeUndefined();
  });

  it("forwards a body larger than the retry buffer (streamed) intact after 100 Continue", async () => {
    const body = "y".repeat(RETRY_BODY * 3);
    const r = await continued(
      `PUT /api/exp-big HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      body,
    );
    expect(r.got100).toBe(true);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/exp-big", body });
  });

  it("forwards a chunked body intact after 100 Continue", async () => {
    const r = await continued(
      `POST /api/exp-chunked HTTP/1.1\r\n${H}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      "5\r\nhello\r\n0\r\n\r\n",
    );
    expect(r.got100).toBe(true);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/exp-chunked", body: "hello" });
  });

  it("answers 413 to a declared body above the cap without the client sending it", async () => {
    const w = new Wire(gw.port);
    w.send(
      `PUT /api/exp-413 HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
    );
    expect(await w.waitFor(() => parseResponses(w.text).finals.length > 0, 3000)).toBe(true);
    const r = parseResponses(w.text);
    // Refused outright: the client is never asked for the body.
    expect(r.interim).toEqual([]);
    expectProblem(r.finals[0], 413);
    expect(r.finals[0]!.headers["connection"]).toBe("close");
    expect(await w.waitFor(() => w.closed, 3000)).toBe(true);
    w.destroy();
    expect(headsAt("/api/exp-413")).toBe(0);
  });

  it("refuses an unrouted request without asking for its body, and closes", async () => {
    // Whether the client then sends the body is unknown, so the connection cannot be reused.
    const w = new Wire(gw.port);
    w.send(`POST /nowhere HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    expect(await w.waitFor(() => w.closed, 3000)).toBe(true);
    const r = parseResponses(w.text);
    expect(r.interim).toEqual([]);
    expectProblem(r.finals[0], 404);
    expect(r.finals[0]!.headers["connection"]).toBe("close");
  });

  it("ignores 100-continue in an HTTP/1.0 request (RFC 9110 §10.1.1)", async () => {
    const r = await exchange(
      `PUT /api/exp-10 HTTP/1.0\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`,
      { waitClose: true },
    );
    expect(r.interim).toEqual([]);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/exp-10", body: "hello" });
  });

  it("answers an expectation it cannot meet with a 417 problem+json", async () => {
    // Node's default answer here is a bare 417 with an empty chunked body.
    const r = await exchange(`GET /api/exp-unknown HTTP/1.1\r\n${H}Expect: teapot\r\n\r\n`);
    expect(r.finals).toHaveLength(1);
    expectProblem(r.finals[0], 417);
    expect(headsAt("/api/exp-unknown")).toBe(0);
  });
});

describe("connection management", () => {
  it("closes the connection after answering a request with Connection: close", async () => {
    const r = await exchange(`GET /api/conn-close HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
      waitClose: true,
      // Well under the 5 s keep-alive timeout: this is the gateway honouring the close.
      closeMs: 2000,
    });
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/conn-close" });
    expect(r.finals[0]!.headers["connection"]).toBe("close");
    expect(r.closed).toBe(true);
    // Connection is hop-by-hop: the upstream connection is the gateway's own.
    expect(up.requests.find((q) => q.url === "/api/conn-close")!.headers.connection).not.toBe(
      "close",
    );
  });

  it("answers the Connection: close request and processes nothing pipelined after it", async () => {
    // RFC 9112 §9.6: after the response to a request with "close" the server MUST close and
    // MUST NOT process further requests on that connection.
    const r = await exchange(
      `GET /api/conn-close-1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n` +
        `GET /api/conn-close-2 HTTP/1.1\r\n${H}\r\n`,
      { waitClose: true },
    );
    expect(reached("/api/conn-close-1")).toBe(1);
    expect(r.finals.map((f) => f.status)).toEqual([200]);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/conn-close-1" });
    expect(r.rest).toBe("");
    expect(r.closed).toBe(true);
    expect(headsAt("/api/conn-close-2")).toBe(0);
  });

  it("closes after answering an HTTP/1.0 request that carried Transfer-Encoding (RFC 9112 §6.1)", async () => {
    const r = await exchange(
      `POST /api/conn-10-te HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      { waitClose: true, closeMs: 2000 },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/conn-10-te", body: "hello" });
    expect(r.closed).toBe(true);
  });

  it("never writes anything after a complete response when the rest of that request is malformed", async () => {
    // The upstream answers before reading the body; the client then breaks the chunked
    // framing. The connection can only be closed: a 400 after the 200 is an unsolicited
    // response that an intermediary in front would pair with its next request.
    const w = new Wire(gw.port);
    w.send(
      `POST /early/unsolicited HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    expect(await w.waitFor(() => parseResponses(w.text).finals.length > 0, 3000)).toBe(true);
    w.send("zz\r\n");
    expect(await w.waitFor(() => w.closed, 3000)).toBe(true);
    const r = parseResponses(w.text, [], true);
    expect(earlyArrivals).toContain("/early/unsolicited");
    expect(r.finals.map((f) => f.status)).toEqual([200]);
    expect(r.finals[0]!.body).toBe("early");
    expect(r.rest).toBe("");
  });
});

describe("Host", () => {
  it("serves an HTTP/1.0 request without Host and closes the connection", async () => {
    const r = await exchange("GET /api/host-10 HTTP/1.0\r\n\r\n", { waitClose: true });
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/host-10" });
    expect(r.closed).toBe(true);
  });

  it("never sends chunked coding to an HTTP/1.0 client", async () => {
    const r = await exchange(`GET /api/chunky HTTP/1.0\r\n${H}\r\n`, { waitClose: true });
    expect(r.finals[0]!.status).toBe(200);
    expect(r.finals[0]!.headers["transfer-encoding"]).toBeUndefined();
    expect(r.finals[0]!.body).toBe("part1-part2");
  });

  it("refuses an HTTP/1.1 request without Host with a 400 problem (RFC 9112 §3.2)", async () => {
    await expectRefused("GET /api/host-none HTTP/1.1\r\n\r\n", "/api/host-none");
  });

  it("refuses two Host lines with a 400 problem (RFC 9112 §3.2)", async () => {
    await expectRefused(
      "GET /api/host-two HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
      "/api/host-two",
    );
  });

  it.each([
    ["a space", "a b.example", "host-space"],
    ["a path", "gw.test/evil", "host-path"],
    ["userinfo", "user@gw.test", "host-userinfo"],
    ["a non-numeric port", "gw.test:http", "host-port"],
  ])("refuses a Host with %s with a 400 problem (RFC 9112 §3.2)", async (_what, host, path) => {
    await expectRefused(`GET /api/${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, `/api/${path}`);
  });

  it("accepts a Host with a port", async () => {
    const r = await exchange(`GET /api/host-port-ok HTTP/1.1\r\nHost: gw.test:8080\r\n\r\n`);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/host-port-ok" });
  });
});

describe("request-target forms and methods", () => {
  it("accepts the absolute-form and forwards origin-form with the target's authority (RFC 9112 §3.2.2)", async () => {
    const r = await exchange(
      `GET http://other.example/api/abs-form?q=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      { waitClose: true },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/abs-form?q=1" });
    const got = up.requests.find((q) => q.url === "/api/abs-form?q=1");
    // A server MUST ignore Host for an absolute-form target; a proxy MUST send a Host made
    // from the target, not the received one.
    expect(got?.headers.host).toBe("other.example");
    expect(up.requests.some((q) => q.url.startsWith("http:"))).toBe(false);
  });

  it("refuses the asterisk-form for a method other than OPTIONS", async () => {
    const r = await exchange(`GET * HTTP/1.1\r\n${H}\r\n`);
    expectProblem(r.finals[0], 400);
    expect(up.requests.some((q) => q.url === "*")).toBe(false);
  });

  it("answers OPTIONS * itself with a problem, without forwarding it", async () => {
    // RFC 9110 §9.3.7 allows a 200 here; the gateway's choice is a clear 400 problem.
    const r = await exchange(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
    expectProblem(r.finals[0], 400);
    expect(up.requests.some((q) => q.url === "*")).toBe(false);
  });

  it.each([
    ["authority-form", "CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n"],
    ["a path", `CONNECT /api/connect HTTP/1.1\r\n${H}\r\n`],
  ])("answers CONNECT with %s with a problem and closes", async (_what, bytes) => {
    // The gateway is not a forward proxy: 405/501 (or 400) as problem+json, never a silent close.
    const r = await exchange(bytes, { waitClose: true });
    expect(r.finals).toHaveLength(1);
    expect([400, 405, 501]).toContain(r.finals[0]!.status);
    expectProblem(r.finals[0], r.finals[0]!.status);
    expect(r.closed).toBe(true);
    expect(headsAt("/api/connect")).toBe(0);
  });

  it.each([
    ["a lower-case method", "get", "m-lower"],
    ["an unknown method", "FROB", "m-unknown"],
  ])("refuses %s with a problem", async (_what, method, path) => {
    // RFC 9110 §9.1 suggests 501 for an unrecognised method; Node's parser cannot parse
    // one, and the gateway answers a clear 400 problem.
    await expectRefused(`${method} /api/${path} HTTP/1.1\r\n${H}\r\n`, `/api/${path}`);
  });
});

describe("upgrades", () => {
  it("refuses a WebSocket upgrade on a route without websocket.enabled with a 403 problem, and closes", async () => {
    const r = await expectRefused(
      `GET /api/ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      "/api/ws",
      403,
    );
    expect(JSON.parse(r.finals[0]!.body)).toMatchObject({ code: "RG_UPGRADE_NOT_ALLOWED" });
  });

  it("refuses an h2c upgrade the same way", async () => {
    const r = await expectRefused(
      `GET /api/h2c HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
      "/api/h2c",
      403,
    );
    expect(JSON.parse(r.finals[0]!.body)).toMatchObject({ code: "RG_UPGRADE_NOT_ALLOWED" });
  });

  it("refuses the HTTP/2 prior-knowledge preface with a 400 problem", async () => {
    const r = await exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", { waitClose: true });
    expectProblem(r.finals[0], 400);
    expect(r.closed).toBe(true);
  });

  it("treats Upgrade without Connection: upgrade as a plain request and strips it", async () => {
    const r = await exchange(`GET /api/upgrade-plain HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/upgrade-plain" });
    expect(
      up.requests.find((q) => q.url === "/api/upgrade-plain")!.headers.upgrade,
    ).toBeUndefined();
  });
});

describe("request line", () => {
  it("forwards a long URL under the header limit intact", async () => {
    const path = `/api/${"b".repeat(8000)}`;
    const r = await exchange(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
    expect(echo(r.finals[0]).url).toBe(path);
    expect(reached(path)).toBe(1);
  });

  it("answers a 100 KB request-target with 414 (RFC 9112 §3)", async () => {
    const path = `/api/${"a".repeat(100_000)}`;
    await expectRefused(`GET ${path} HTTP/1.1\r\n${H}\r\n`, path, 414);
  });

  it("accepts runs of spaces between request-line elements (RFC 9112 §3 allows it)", async () => {
    const r = await exchange(`GET  /api/rl-spaces  HTTP/1.1\r\n${H}\r\n`);
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/rl-spaces" });
  });

  it.each([
    ["tabs as separators", "GET\t/api/rl-tabs\tHTTP/1.1", "rl-tabs"],
    ["an unsupported minor version", "GET /api/rl-v12 HTTP/1.2", "rl-v12"],
    ["a control character in the target", "GET /api/rl-ctl\u0001x HTTP/1.1", "rl-ctl"],
  ])("refuses %s with a 400 problem", async (_what, line, path) => {
    // HTTP/1.2: RFC 9110 §2.5 would have it processed as 1.1; the refusal is clear and safe.
    await expectRefused(`${line}\r\n${H}\r\n`, `/api/${path}`);
  });

  it.each([
    ["a request line without a version (HTTP/0.9)", "GET /api/rl-09\r\n\r\n", "/api/rl-09"],
    ["a fragment in the target", `GET /api/rl-frag#x HTTP/1.1\r\n${H}\r\n`, "/api/rl-frag#x"],
  ])("refuses %s with a 400 problem (not valid request-line syntax)", async (_w, bytes, path) => {
    await expectRefused(bytes, path);
  });

  it("refuses an HTTP/2.0 version on a text request line with a problem", async () => {
    // HTTP/2 has no text request line; nginx answers 505, Envoy 400. Never forwarded as 1.1.
    const r = await exchange(`GET /api/rl-v20 HTTP/2.0\r\n${H}\r\n`, { waitClose: true });
    expect(r.finals).toHaveLength(1);
    expect([400, 505]).toContain(r.finals[0]!.status);
    expectProblem(r.finals[0], r.finals[0]!.status);
    expect(headsAt("/api/rl-v20")).toBe(0);
  });

  it.each([
    ["dot-segments", "/api/../internal"],
    ["percent-encoded dot-segments", "/api/%2e%2e/internal"],
  ])("never forwards a target whose %s climb out of the route prefix", async (_w, path) => {
    // Matched as /api/* but resolving to /internal at any upstream that normalises the path
    // (RFC 3986 §5.2.4, as URL parsers do). nginx normalises before matching; Envoy can
    // normalise or refuse. Either way: refused (400), or normalised and unrouted (404).
    const r = await exchange(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
    expect([400, 404]).toContain(r.finals[0]!.status);
    expectProblem(r.finals[0], r.finals[0]!.status);
    expect(headsAt(path)).toBe(0);
  });
});

describe("HEAD and GET with a body", () => {
  it("answers HEAD without a body, keeping the upstream's Content-Length", async () => {
    // A GET pipelined behind the HEAD only parses if the HEAD response carried no body.
    const r = await exchange(
      `HEAD /api/head HTTP/1.1\r\n${H}\r\nGET /api/head HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      { finals: 2, methods: ["HEAD", "GET"], waitClose: true },
    );
    expect(r.finals.map((f) => f.status)).toEqual([200, 200]);
    expect(r.finals[0]!.headers["content-length"]).toBe("11");
    expect(r.finals[0]!.body).toBe("");
    expect(r.finals[1]!.body).toBe("hello world");
    expect(r.rest).toBe("");
    expect(up.requests.filter((q) => q.url === "/api/head").map((q) => q.method)).toEqual([
      "HEAD",
      "GET",
    ]);
  });

  it("forwards a GET body intact and never reads a request out of it", async () => {
    const inner = `GET /api/get-smuggled HTTP/1.1\r\n${H}\r\n`;
    const r = await exchange(
      `GET /api/get-body HTTP/1.1\r\n${H}Content-Length: ${inner.length}\r\n\r\n${inner}` +
        `GET /api/get-after HTTP/1.1\r\n${H}\r\n`,
      { finals: 2 },
    );
    expect(echo(r.finals[0])).toMatchObject({ url: "/api/get-body", body: inner });
    expect(echo(r.finals[1])).toMatchObject({ url: "/api/get-after", body: "" });
    expect(headsAt("/api/get-smuggled")).toBe(0);
  });

  it.each(["GET", "DELETE"])(
    "refuses a chunked %s body too large to buffer with 411, forwarding nothing",
    async (method) => {
      // Past the replay buffer the body would be streamed, and these methods carry no
      // chunked framing upstream: the gateway asks for a Content-Length instead.
      const path = `/api/chunked-large-${method.toLowerCase()}`;
      const body = "x".repeat(RETRY_BODY + 100);
      const r = await expectRefused(
        `${method} ${path} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        path,
        411,
      );
      expect(r.finals[0]!.body).toMatch(/Content-Length/);
    },
  );

  it.each(["GET", "HEAD", "DELETE", "OPTIONS"])(
    "forwards a chunked %s body framed, so the upstream never reads a request out of it",
    async (method) => {
      // Transfer-Encoding is hop-by-hop, so the gateway must re-frame the body it forwards
      // (Content-Length or chunked). Sent unframed, the body is parsed by the upstream as
      // the next request on that pooled connection: request smuggling past the gateway.
      const path = `/api/unframed-${method.toLowerCase()}`;
      const smuggled = `${path}-smuggled`;
      const inner = `GET ${smuggled} HTTP/1.1\r\n${H}\r\n`;
      const r = await exchange(
        `${method} ${path} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
          `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
        { methods: [method] },
      );
      expect(headsAt(smuggled)).toBe(0);
      const f = r.finals[0];
      expect(f, "an answer").toBeDefined();
      // Forwarded with its body intact, or refused with a problem: both are safe.
      if (f!.status === 200) expect(up.requests.find((q) => q.url === path)?.body).toBe(inner);
      else expectProblem(f, f!.status);
    },
  );
});
