/**
 * Odd and hostile UPSTREAM responses (RFC 9110 / 9112), served by raw TCP upstreams that
 * write exact bytes: conflicting or short framing, bodies longer than announced (response
 * desync), close-delimited bodies, 1xx interim answers, bodies on 204/304/HEAD, oversize and
 * malformed header sections, Set-Cookie and the shared cache, Connection: close, trailers,
 * bad status lines, gzip pass-through and slow bodies. upstream-failures.test.ts covers
 * refused connections, resets mid-body, hangs before headers, a bad header name and client
 * aborts; hardening.test.ts the hop-by-hop stripping. Those are not repeated.
 *
 * The contract asserted throughout: a response the gateway cannot forward faithfully is
 * answered with a 502 problem+json (or, once its head has gone out, the client connection is
 * cut); a client never receives a clean, complete-looking answer that is not the upstream's
 * real one; and an upstream connection whose framing broke is never used again.
 */
import { EventEmitter } from "node:events";
import net, { type AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigInput } from "@rg/core";
import type { Gateway } from "../src/gateway";
import { gatewayFor, trackUncaught, uncaught, until } from "./harness";
import { H, Wire, expectProblem, parseResponses, type Exchange, type WireResponse } from "./wire";

trackUncaught();

// ---------------------------------------------------------------------------------------------
// Raw upstreams

interface RawRequest {
  /** Connection number on this upstream (1-based). */
  conn: number;
  /** Request number on that connection (1-based). */
  seq: number;
  method: string;
  path: string;
  headers: Record<string, string>;
}

type Script = (req: RawRequest, s: net.Socket, up: RawUpstream) => void;

/** A TCP server that reads the gateway's requests and answers with whatever bytes a script writes. */
class RawUpstream {
  readonly server: net.Server;
  port = 0;
  /** Connections accepted so far. */
  connections = 0;
  readonly open = new Map<number, net.Socket>();
  /** Connections that have closed (the gateway hung up, or the script did). */
  readonly closed = new Set<number>();
  readonly requests: RawRequest[] = [];
  readonly events = new EventEmitter();

  constructor(private readonly script: Script) {
    this.server = net.createServer((s) => this.accept(s));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests received on connection `conn`. */
  on(conn: number): RawRequest[] {
    return this.requests.filter((r) => r.conn === conn);
  }

  last(path: string): RawRequest | undefined {
    return this.requests.filter((r) => r.path === path).at(-1);
  }

  close(): Promise<void> {
    for (const s of this.open.values()) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }

  private accept(s: net.Socket): void {
    const conn = ++this.connections;
    this.open.set(conn, s);
    let buf = "";
    let seq = 0;
    // Every write goes out at once. With Nagle's algorithm a small write that follows an
    // unacknowledged one waits for the peer's ACK, which the gateway's next request carries:
    // bytes meant to arrive on an idle connection would then arrive just after a new request,
    // where no HTTP/1.1 client can tell them from its answer.
    s.setNoDelay(true);
    s.on("error", () => {});
    s.on("close", () => {
      this.open.delete(conn);
      this.closed.add(conn);
      this.events.emit("close", conn);
    });
    s.on("data", (c: Buffer) => {
      buf += c.toString("latin1");
      for (let guard = 0; guard < 100; guard++) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const lines = buf.slice(0, end).split("\r\n");
        const [method = "", path = ""] = lines[0]!.split(" ");
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers["content-length"] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        const req: RawRequest = { conn, seq: ++seq, method, path, headers };
        this.requests.push(req);
        if (!s.destroyed) this.script(req, s, this);
      }
    });
  }
}

/** A well-formed answer naming the request it answers, so a client can tell it got its own. */
function own(req: RawRequest): string {
  const body = `own:${req.path}`;
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** Write latin1 bytes (one byte per char). */
function put(s: net.Socket, bytes: string, cb?: () => void): void {
  if (!s.destroyed) s.write(bytes, "latin1", cb);
}

/**
 * Let a few turns of the event loop (each with an I/O poll) pass, so bytes already written on
 * loopback have been read by the gateway's end. An event-loop barrier, not a timed wait.
 */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

// ---------------------------------------------------------------------------------------------
// Client side: raw wire helpers (copied from framing.test.ts)

/**
 * One request on a new client connection that asks to close, waiting for the gateway to
 * close it (bounded): every answer is then whole, or visibly cut short.
 */
async function fetchRaw(
  path: string,
  opts: { method?: string; headers?: string; closeMs?: number; version?: string } = {},
): Promise<Exchange> {
  const method = opts.method ?? "GET";
  const w = new Wire(gw.port);
  w.send(
    `${method} ${path} HTTP/${opts.version ?? "1.1"}\r\n${H}${opts.headers ?? ""}Connection: close\r\n\r\n`,
  );
  await w.waitFor(() => w.closed, opts.closeMs ?? 5000);
  const closed = w.closed;
  const text = w.text;
  w.destroy();
  return { ...parseResponses(text, [method], closed), closed, text };
}

/** The single final answer of an exchange. */
function only(r: Exchange): WireResponse {
  expect(r.finals, `one complete answer in ${JSON.stringify(r.text.slice(0, 300))}`).toHaveLength(
    1,
  );
  expect(r.rest).toBe("");
  return r.finals[0]!;
}

/** The gateway refused the upstream's answer: one 502 problem naming a bad upstream response. */
function expectBadGateway(r: Exchange): void {
  const p = expectProblem(only(r), 502);
  expect(p).toMatchObject({ code: "RG_BAD_UPSTREAM_RESPONSE" });
}

/**
 * Never a clean short body: either a 502 problem, or the answer began and the connection was
 * cut before it was complete by its own framing.
 */
function expectNoCleanAnswer(r: Exchange): void {
  expect(r.closed).toBe(true);
  if (r.finals.length > 0) return expectBadGateway(r);
  // Nothing, or a head whose body is visibly incomplete by its own framing.
  if (r.text !== "") expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
}

/** Ask for `path` on an upstream and expect its own, well-formed answer. */
async function expectOwn(path: string): Promise<void> {
  const r = await fetchRaw(path);
  const f = only(r);
  expect(f.status).toBe(200);
  expect(f.body).toBe(`own:${path}`);
}

/** The connection that carried `path` was closed and never carried a later request. */
async function expectRetired(up: RawUpstream, path: string, withinMs = 3000): Promise<void> {
  const bad = up.last(path)!;
  expect(bad, `the upstream saw ${path}`).toBeDefined();
  await until(() => up.closed.has(bad.conn), withinMs).catch(() => {
    throw new Error(
      `the connection that carried ${path} is still open after ${withinMs} ms; it carried ${JSON.stringify(up.on(bad.conn).map((q) => q.path))}`,
    );
  });
  expect(up.on(bad.conn).map((q) => q.path)).toEqual(
    up
      .on(bad.conn)
      .filter((q) => q.seq <= bad.seq)
      .map((q) => q.path),
  );
}

// ---------------------------------------------------------------------------------------------
// The upstreams, one per family of cases, each behind its own route /<name>/...

const ups: Record<string, RawUpstream> = {};
/** The upstream connection carrying `/cached/cut`'s first answer. */
let cutMidBody: net.Socket | undefined;
let gw: Gateway;

const TRICKLE_BYTES = 20;
const TRICKLE_EVERY_MS = 50;
/** Bytes of the trickled body written so far (read by the client when its first byte arrives). */
let trickleSent = 0;
const GZ = gzipSync(Buffer.from("compressed body ".repeat(64)));
const HTTP10_BODY = "0123456789abcdef".repeat(1024);
/** A complete response, as extra bytes after another one. */
const POISON = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nPOISON";

/**
 * An upstream that answers `/<name>/bad` with `answer`, then, 20 ms later and on its own,
 * writes `stray` on the now idle keep-alive connection; everything else gets its own answer.
 * It emits "stray" once those bytes are written.
 */
function strayAfter(answer: string, stray: string): Script {
  return (req, s, up) => {
    if (!req.path.endsWith("/bad")) return put(s, own(req));
    put(s, answer);
    setTimeout(() => put(s, stray, () => up.events.emit("stray", req.conn)), 20);
  };
}

const scripts: Record<string, Script> = {
  /** Conflicting and short framing. */
  framing(req, s) {
    switch (req.path) {
      case "/framing/te-cl":
        return put(
          s,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        );
      case "/framing/cl-te":
        return put(
          s,
          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        );
      case "/framing/cl-two":
        return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello");
      case "/framing/cl-list":
        return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 3, 5\r\n\r\nhello");
      case "/framing/cl-bad":
        return put(s, "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello");
      case "/framing/cl-overflow":
        return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello");
      case "/framing/cl-short":
        // Announce 100 bytes, send 5, close.
        return void s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "latin1");
      case "/framing/chunk-short":
        // A chunked body closed before its last chunk.
        return void s.end(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
          "latin1",
        );
      case "/framing/chunk-bad":
        // A chunked body whose second chunk size is garbage; the connection stays open.
        return put(
          s,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n",
        );
      case "/framing/te-unknown":
        // Transfer-Encoding without chunked last: the body is delimited by the close (§6.3).
        return void s.end(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nclose-delimited",
          "latin1",
        );
      default:
        return put(s, own(req));
    }
  },

  /** A body longer than its Content-Length: the extra bytes look like a second response. */
  desync(req, s) {
    if (req.path === "/desync/same-write") {
      return put(s, `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok${POISON}`);
    }
    if (req.path === "/desync/garbage") {
      return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA-BYTES-HERE");
    }
    return put(s, own(req));
  },

  /** Close-delimited bodies. */
  closing(req, s) {
    if (req.path === "/closing/http10") {
      return void s.end(
        `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${HTTP10_BODY}`,
        "latin1",
      );
    }
    if (req.path === "/closing/http11") {
      return void s.end(
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${HTTP10_BODY}`,
        "latin1",
      );
    }
    return put(s, own(req));
  },

  /** 1xx interim answers before the final one. */
  interim(req, s) {
    if (req.path === "/interim/continue") {
      return put(
        s,
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
      );
    }
    if (req.path === "/interim/hints") {
      // Early Hints in one write, the final answer in another.
      put(
        s,
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n" +
          "HTTP/1.1 102 Processing\r\n\r\n",
      );
      setTimeout(() => put(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"), 20);
      return;
    }
    if (req.path === "/interim/flood") {
      // 2,000 Early Hints (about 80 kB) in one write, then the answer.
      const hint = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
      return put(s, `${hint.repeat(2000)}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal`);
    }
    if (req.path === "/interim/endless") {
      // A 103 every 20 ms and never a final answer (until the gateway hangs up).
      const timer = setInterval(() => {
        if (s.destroyed) return clearInterval(timer);
        put(s, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
      }, 20);
      s.once("close", () => clearInterval(timer));
      return;
    }
    if (req.path === "/interim/switch") {
      // Switching protocols on a request that asked for no upgrade.
      return put(
        s,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0005hello",
      );
    }
    return put(s, own(req));
  },

  /** Answers that must not have a body, carrying one anyway. */
  nobody(req, s) {
    if (req.path === "/nobody/204") {
      return put(s, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello");
    }
    if (req.path === "/nobody/304") {
      return put(s, 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\nhello');
    }
    if (req.path === "/nobody/head") {
      // A HEAD answer with the body a GET would get.
      return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    }
    return put(s, own(req));
  },

  /** Header sections the gateway cannot, or must not, forward as they are. */
  headers(req, s) {
    switch (req.path) {
      case "/headers/huge": {
        const lines = Array.from({ length: 100 }, (_, i) => `X-Big-${i}: ${"h".repeat(1000)}\r\n`);
        return put(s, `HTTP/1.1 200 OK\r\n${lines.join("")}Content-Length: 2\r\n\r\nok`);
      }
      case "/headers/obs-fold":
        return put(
          s,
          "HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok",
        );
      case "/headers/space-before-colon":
        return put(s, "HTTP/1.1 200 OK\r\nX-Spaced : value\r\nContent-Length: 2\r\n\r\nok");
      case "/headers/bare-cr":
        return put(
          s,
          "HTTP/1.1 200 OK\r\nX-A: b\rSet-Cookie: injected=1\r\nContent-Length: 2\r\n\r\nok",
        );
      case "/headers/ctl":
        return put(s, "HTTP/1.1 200 OK\r\nX-Ctl: a\u0001b\r\nContent-Length: 2\r\n\r\nok");
      case "/headers/nul":
        return put(s, "HTTP/1.1 200 OK\r\nX-Nul: a\u0000b\r\nContent-Length: 2\r\n\r\nok");
      default:
        return put(s, own(req));
    }
  },

  /** Cacheable answers, with and without a Set-Cookie. */
  cached(req, s, up) {
    if (req.path === "/cached/cut") {
      // The first answer has no length, so its body runs to the close, and it is cut by a
      // reset the test sends once the client has seen the body begin; later ones are whole.
      if (up.requests.filter((q) => q.path === req.path).length === 1) {
        cutMidBody = s;
        return put(
          s,
          "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\nConnection: close\r\n\r\nPARTIAL-",
        );
      }
      return put(
        s,
        "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\nContent-Length: 5\r\n\r\nwhole",
      );
    }
    if (req.path.startsWith("/cached/vary-forwarded")) {
      const body = `by-proto:${req.headers["x-forwarded-proto"]}`;
      return put(
        s,
        "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\nVary: X-Forwarded-Proto\r\n" +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
    if (req.path.startsWith("/cached/me")) {
      // No Cache-Control at all: a 200 that http-cache-semantics would store by default.
      const body = `me:${req.headers.cookie ?? "nobody"}`;
      return put(s, `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    if (req.path.startsWith("/cached/cookie")) {
      const body = `page-for-alice:${req.path}`;
      return put(
        s,
        "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\nContent-Type: text/plain\r\n" +
          `X-A: b\r\nSet-Cookie: sid=alice-secret; Path=/; HttpOnly\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
    if (req.path.startsWith("/cached/plain")) {
      const body = `shared:${req.path}`;
      return put(
        s,
        "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\nContent-Type: text/plain\r\n" +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
    return put(s, own(req));
  },

  /** Says Connection: close on every answer, but leaves closing to the gateway. */
  closer(req, s) {
    const body = `own:${req.path}`;
    put(s, `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  },

  /** Answers in HTTP/1.0 without keep-alive (so "close" by default), but never closes. */
  closer10(req, s) {
    const body = `own:${req.path}`;
    put(s, `HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  },

  /** Stray bytes on an idle pooled connection, after a complete answer. */
  late200: strayAfter("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", POISON),
  late204: strayAfter("HTTP/1.1 204 No Content\r\n\r\n", POISON),
  /** A Content-Length counted in characters: "héllo" is 6 bytes in UTF-8, announced as 5. */
  lateByte: strayAfter(
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n${Buffer.from("héllo").toString("latin1", 0, 5)}`,
    Buffer.from("héllo").toString("latin1", 5),
  ),

  /** Chunked answers with trailers. */
  trailers(req, s) {
    if (req.path === "/trailers/x") {
      return put(
        s,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
          "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n",
      );
    }
    return put(s, own(req));
  },

  /** Status lines. */
  status(req, s) {
    const lines: Record<string, string> = {
      "/status/four-digits": "HTTP/1.1 2000 OK",
      "/status/no-reason": "HTTP/1.1 200",
      "/status/http2": "HTTP/2.0 200 OK",
      "/status/below-100": "HTTP/1.1 099 Low",
      "/status/above-599": "HTTP/1.1 600 High",
      "/status/icy": "ICY 200 OK",
      "/status/garbage": "hello there",
      "/status/lower-case": "http/1.1 200 OK",
    };
    const line = lines[req.path];
    if (line !== undefined) return put(s, `${line}\r\nContent-Length: 2\r\n\r\nok`);
    if (req.path === "/status/empty") return void s.end();
    if (req.path === "/status/bare-lf") {
      return put(s, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
    }
    return put(s, own(req));
  },

  /** Compressed answers, which pass through undecoded. */
  gzip(req, s) {
    if (req.path === "/gzip/length") {
      put(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n" +
          `Content-Length: ${GZ.length}\r\n\r\n`,
      );
      return void s.write(GZ);
    }
    if (req.path === "/gzip/chunked") {
      const half = Math.floor(GZ.length / 2);
      put(s, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
      s.write(`${half.toString(16)}\r\n`);
      s.write(GZ.subarray(0, half));
      s.write(`\r\n${(GZ.length - half).toString(16)}\r\n`);
      s.write(GZ.subarray(half));
      return put(s, "\r\n0\r\n\r\n");
    }
    return put(s, own(req));
  },

  /** Slow bodies. */
  slow(req, s) {
    if (req.path === "/slow/trickle") {
      trickleSent = 0;
      put(s, `HTTP/1.1 200 OK\r\nContent-Length: ${TRICKLE_BYTES}\r\n\r\n`);
      const timer = setInterval(() => {
        if (s.destroyed || trickleSent >= TRICKLE_BYTES) return clearInterval(timer);
        put(s, String.fromCharCode(97 + (trickleSent % 26)));
        trickleSent++;
      }, TRICKLE_EVERY_MS);
      return;
    }
    if (req.path === "/slow/stall") {
      // Headers and part of the body, then nothing: the connection stays open.
      return put(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart-of-body");
    }
    return put(s, own(req));
  },
};

/** The slow routes' per-try timeout: the longest a body may pause between two chunks. */
const SLOW_PER_TRY_MS = 1500;
const INTERIM_PER_TRY_MS = 1000;

beforeAll(async () => {
  for (const [name, script] of Object.entries(scripts)) {
    ups[name] = new RawUpstream(script);
    await ups[name].listen();
  }
  const upstreams: NonNullable<ConfigInput["upstreams"]> = {};
  const routes: NonNullable<ConfigInput["routes"]> = {};
  for (const name of Object.keys(scripts)) {
    upstreams[name] = {
      endpoints: { main: { url: ups[name]!.url } },
      // Nothing here may depend on an earlier case having tripped a breaker.
      circuitBreaker: { enabled: false },
      outlierDetection: { enabled: false },
    };
    routes[name] = {
      match: { pathPrefix: `/${name}` },
      upstream: name,
      timeouts: {
        connectMs: 500,
        perTryMs:
          name === "interim" ? INTERIM_PER_TRY_MS : name === "slow" ? SLOW_PER_TRY_MS : 2000,
        totalMs: 4000,
      },
      retry: { maxAttempts: 1 },
      ...(name === "cached" ? { cache: { enabled: true } } : {}),
    };
  }
  gw = await gatewayFor({ upstreams, routes });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all(Object.values(ups).map((u) => u.close()));
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

// ---------------------------------------------------------------------------------------------

describe("conflicting and short framing", () => {
  it.each([
    ["Transfer-Encoding before Content-Length", "/framing/te-cl"],
    ["Content-Length before Transfer-Encoding", "/framing/cl-te"],
  ])("answers chunked with %s safely and never reuses that connection", async (_what, path) => {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; such a message "ought to be
    // handled as an error", and a forwarding intermediary must drop the Content-Length and
    // close the connection afterwards. nginx and Envoy refuse it: 502.
    const r = await fetchRaw(path);
    const f = only(r);
    if (f.status === 502) expectBadGateway(r);
    else {
      expect(f.status).toBe(200);
      expect(f.body).toBe("hello");
      expect(f.headers["content-length"]).not.toBe("3");
    }
    await expectRetired(ups.framing!, path);
    await expectOwn("/framing/next");
  });

  it.each([
    ["two different Content-Length lines", "/framing/cl-two"],
    ["a Content-Length list with different values", "/framing/cl-list"],
    ["a negative Content-Length", "/framing/cl-bad"],
    ["a Content-Length that overflows", "/framing/cl-overflow"],
  ])("answers %s with a 502 problem and never reuses that connection", async (_what, path) => {
    // RFC 9112 §6.3 item 5: an invalid Content-Length in a response is unrecoverable; a proxy
    // MUST close the upstream connection, discard the response and answer 502.
    const r = await fetchRaw(path);
    expectBadGateway(r);
    await expectRetired(ups.framing!, path);
    await expectOwn("/framing/next");
  });

  it.each([
    ["a Content-Length larger than the body, then close", "/framing/cl-short"],
    ["a chunked body closed before its last chunk", "/framing/chunk-short"],
    ["an invalid chunk size mid-body", "/framing/chunk-bad"],
  ])("never serves a clean short body for %s", async (_what, path) => {
    // RFC 9112 §8: an incomplete message must not be passed on as complete. Once the head is
    // out, the only signal left is to cut the client connection.
    const r = await fetchRaw(path);
    expectNoCleanAnswer(r);
    await expectRetired(ups.framing!, path);
    await expectOwn("/framing/next");
  });

  it("delivers a body with a non-chunked Transfer-Encoding whole, delimited by the close", async () => {
    // RFC 9112 §6.3 item 4 (response): the body ends when the server closes. Transfer-Encoding
    // is hop-by-hop; the gateway re-frames the body it forwards.
    const r = await fetchRaw("/framing/te-unknown");
    const f = only(r);
    if (f.status === 502) expectBadGateway(r);
    else {
      expect(f.status).toBe(200);
      // Decoding was never asked for: the bytes pass as they came.
      expect(f.body).toBe("close-delimited");
    }
  });
});

describe("bodies longer than their Content-Length (response desync)", () => {
  it("never serves extra bytes from the same write as the answer to the next request", async () => {
    const first = await fetchRaw("/desync/same-write");
    expect(only(first)).toMatchObject({ status: 200, body: "ok" });
    for (const n of [1, 2, 3]) await expectOwn(`/desync/after-same-${n}`);
    // The connection that sent more than it announced is not used again (as nginx does).
    await expectRetired(ups.desync!, "/desync/same-write");
  });

  it("survives trailing garbage after a complete body", async () => {
    const first = await fetchRaw("/desync/garbage");
    expect(only(first)).toMatchObject({ status: 200, body: "ok" });
    await expectOwn("/desync/after-garbage");
    await expectRetired(ups.desync!, "/desync/garbage");
  });

  it("keeps two requests on one client connection each with its own answer", async () => {
    const w = new Wire(gw.port);
    w.send(`GET /desync/same-write HTTP/1.1\r\n${H}\r\n`);
    expect(await w.waitFor(() => parseResponses(w.text).finals.length === 1)).toBe(true);
    w.send(`GET /desync/pipe-second HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    await w.waitFor(() => w.closed);
    const r = parseResponses(w.text, [], true);
    w.destroy();
    expect(r.finals.map((f) => [f.status, f.body])).toEqual([
      [200, "ok"],
      [200, "own:/desync/pipe-second"],
    ]);
    expect(r.rest).toBe("");
  });
});

describe("stray bytes on an idle pooled connection", () => {
  // The upstream completes an answer, then writes more on the keep-alive connection while it
  // sits idle in the gateway's pool. Those bytes answer no request. A warm-up request first
  // makes the connection one that has been reused, as nearly every pooled connection is.
  const cases = [
    ["a whole extra response after a 200", "late200", "ok"],
    ["a whole extra response after a 204", "late204", ""],
    [
      "the last byte of a body whose length was counted in characters",
      "lateByte",
      "h\u00c3\u00a9ll",
    ],
  ] as const;

  /** Warm up, get the answer that is followed by stray bytes, and wait until they are read. */
  async function poison(name: string, body: string): Promise<RawUpstream> {
    const up = ups[name]!;
    await expectOwn(`/${name}/warm`);
    const stray = new Promise<number>((r) => up.events.once("stray", r));
    const first = await fetchRaw(`/${name}/bad`);
    expect(only(first).body).toBe(body);
    const conn = await stray;
    expect(up.last(`/${name}/warm`)!.conn).toBe(conn);
    // The stray bytes are on the wire (no Nagle delay); let the gateway's end read them.
    await settleIo();
    return up;
  }

  it.each(cases)("never serves %s as the next answers", async (_what, name, body) => {
    await poison(name, body);
    for (const n of [1, 2, 3]) await expectOwn(`/${name}/next-${n}`);
  });

  it("closes a pooled connection on which a response arrived while idle (as nginx and Envoy do)", async () => {
    // Bytes on an idle connection mean its framing can no longer be trusted: nginx's
    // keepalive module closes a cached connection on any read event, Envoy's HTTP/1 codec on
    // a response with no request. Dropping them and reusing the connection hands whatever
    // of a stray message arrives later to the next request.
    const up = await poison("late200", "ok");
    await expectOwn("/late200/after-close-check");
    await expectRetired(up, "/late200/bad", 1000);
  });
});

describe("close-delimited bodies", () => {
  it.each([
    ["an HTTP/1.0 answer without Content-Length", "/closing/http10"],
    ["an HTTP/1.1 answer with Connection: close and no length", "/closing/http11"],
  ])("delivers %s whole, framed for the client", async (_what, path) => {
    const r = await fetchRaw(path);
    const f = only(r);
    expect(f.status).toBe(200);
    expect(f.body).toBe(HTTP10_BODY);
    // Re-framed for an HTTP/1.1 client, so its end is marked and not a mere close.
    expect(f.headers["transfer-encoding"] ?? f.headers["content-length"]).toBeDefined();
  });

  it("delivers it whole to an HTTP/1.0 client, delimited by the close", async () => {
    const r = await fetchRaw("/closing/http10", { version: "1.0" });
    const f = only(r);
    expect(f.status).toBe(200);
    expect(f.headers["transfer-encoding"]).toBeUndefined();
    expect(f.body).toBe(HTTP10_BODY);
  });
});

describe("1xx interim answers", () => {
  it("delivers the final answer intact after an unsolicited 100 Continue", async () => {
    const r = await fetchRaw("/interim/continue");
    expect(only(r)).toMatchObject({ status: 200, body: "final" });
    // The 100 answered nothing the client asked for: it is not forwarded.
    expect(r.interim.filter((i) => i.status === 100)).toEqual([]);
    await expectOwn("/interim/after-continue");
  });

  it("forwards 103 Early Hints with their Link and 102 Processing before the final answer (RFC 9110 §15.2)", async () => {
    const r = await fetchRaw("/interim/hints");
    expect(only(r)).toMatchObject({ status: 200, body: "final" });
    expect(r.interim.map((i) => i.status)).toEqual([103, 102]);
    expect(r.interim[0]!.headers.link).toBe("</style.css>; rel=preload; as=style");
    await expectOwn("/interim/after-hints");
  });

  it("sends no interim answer to an HTTP/1.0 client", async () => {
    const r = await fetchRaw("/interim/hints", { version: "1.0" });
    expect(only(r)).toMatchObject({ status: 200, body: "final" });
    expect(r.interim).toEqual([]);
  });

  it("delivers the final answer intact after 2,000 Early Hints, passing on only the first few", async () => {
    const r = await fetchRaw("/interim/flood");
    expect(only(r)).toMatchObject({ status: 200, body: "final" });
    expect(r.interim.length).toBeGreaterThan(0);
    expect(r.interim.length).toBeLessThanOrEqual(8);
    await expectOwn("/interim/after-flood");
  });

  it("answers 504 at the per-try timeout when 1xx answers never end", async () => {
    const started = Date.now();
    const r = await fetchRaw("/interim/endless");
    const ms = Date.now() - started;
    expect(expectProblem(only(r), 504)).toMatchObject({ code: "RG_UPSTREAM_TIMEOUT" });
    expect(ms).toBeGreaterThanOrEqual(INTERIM_PER_TRY_MS - 50);
    expect(ms).toBeLessThan(INTERIM_PER_TRY_MS + 1500);
    await expectRetired(ups.interim!, "/interim/endless");
  });

  it("answers an unsolicited 101 Switching Protocols with a 502 problem", async () => {
    // The request asked for no upgrade (RFC 9110 §15.2.2): nothing can be tunnelled.
    const r = await fetchRaw("/interim/switch");
    expectProblem(only(r), 502);
    await expectRetired(ups.interim!, "/interim/switch");
    await expectOwn("/interim/after-switch");
  });
});

describe("bodies on answers that have none", () => {
  it("answers a 204 that carries a body without it; the next request gets its own answer", async () => {
    const r = await fetchRaw("/nobody/204");
    expect(only(r).status).toBe(204);
    expect(r.text.endsWith("\r\n\r\n")).toBe(true);
    await expectOwn("/nobody/after-204");
    await expectRetired(ups.nobody!, "/nobody/204");
  });

  it("sends no Content-Length on a 204 (RFC 9110 §8.6)", async () => {
    // "A server MUST NOT send a Content-Length header field in any response with a status
    // code of 1xx or 204"; nginx and Envoy drop it. A client that trusts it waits for 5 bytes.
    const r = await fetchRaw("/nobody/204");
    const f = only(r);
    expect(f.status).toBe(204);
    expect(f.headers["content-length"]).toBeUndefined();
    expect(f.headers["transfer-encoding"]).toBeUndefined();
  });

  it("answers a 304 that carries a body without it; the next request gets its own answer", async () => {
    const r = await fetchRaw("/nobody/304", { headers: 'If-None-Match: "v1"\r\n' });
    const f = only(r);
    expect(f.status).toBe(304);
    expect(f.headers["etag"]).toBe('"v1"');
    expect(r.text.endsWith("\r\n\r\n")).toBe(true);
    await expectOwn("/nobody/after-304");
    await expectRetired(ups.nobody!, "/nobody/304");
  });

  it("answers HEAD without the body the upstream sent; the next request gets its own answer", async () => {
    const r = await fetchRaw("/nobody/head", { method: "HEAD" });
    const f = only(r);
    expect(f.status).toBe(200);
    expect(f.headers["content-length"]).toBe("5");
    expect(r.text.endsWith("\r\n\r\n")).toBe(true);
    await expectOwn("/nobody/after-head");
    await expectRetired(ups.nobody!, "/nobody/head");
  });
});

describe("header sections", () => {
  it("answers 100 KB of response headers with a 502 problem and keeps serving", async () => {
    const r = await fetchRaw("/headers/huge");
    expectBadGateway(r);
    await expectRetired(ups.headers!, "/headers/huge");
    await expectOwn("/headers/after-huge");
  });

  it("refuses an obs-fold with a 502, or forwards it unfolded (RFC 9112 §5.2)", async () => {
    const r = await fetchRaw("/headers/obs-fold");
    const f = only(r);
    if (f.status === 502) expectBadGateway(r);
    else {
      expect(f.status).toBe(200);
      expect(f.headers["x-folded"]).toMatch(/^first +second$/);
      // No line of the forwarded head starts with whitespace.
      expect(f.lines.some((l) => /^[ \t]/.test(l))).toBe(false);
    }
    await expectOwn("/headers/after-fold");
  });

  it("refuses whitespace before a header colon with a 502, or strips it (RFC 9112 §5.1)", async () => {
    const r = await fetchRaw("/headers/space-before-colon");
    const f = only(r);
    if (f.status === 502) expectBadGateway(r);
    else {
      expect(f.status).toBe(200);
      expect(f.lines.some((l) => /^\S+\s+:/.test(l))).toBe(false);
    }
    await expectOwn("/headers/after-space");
  });

  it.each([
    ["a bare CR splitting a header into a Set-Cookie", "/headers/bare-cr"],
    ["a control character in a header value", "/headers/ctl"],
    ["a NUL in a header value", "/headers/nul"],
  ])("answers %s with a 502 problem, never a split header or a reset", async (_what, path) => {
    const r = await fetchRaw(path);
    expect(r.text).not.toMatch(/\r\nSet-Cookie: injected/i);
    expectBadGateway(r);
    await expectOwn(`/headers/after${path.slice("/headers".length)}`);
  });
});

describe("Set-Cookie and the shared cache", () => {
  it("caches a plain public answer (the cache is on for this route)", async () => {
    const up = ups.cached!;
    const before = up.requests.length;
    const a = await fetchRaw("/cached/plain");
    const b = await fetchRaw("/cached/plain");
    expect(only(a).body).toBe("shared:/cached/plain");
    expect(only(b).body).toBe("shared:/cached/plain");
    expect(only(b).headers["cache-status"]).toMatch(/hit/);
    expect(up.requests.length - before).toBe(1);
  });

  it("never stores an answer that sets a cookie, so another client gets its own", async () => {
    // RFC 9111 §7.3 lets a shared cache store such an answer (without the cookie); nginx
    // (proxy_cache skips answers with Set-Cookie), Varnish and most CDNs do not, as the body
    // of an answer that sets a session cookie is likely personal.
    const up = ups.cached!;
    const alice = await fetchRaw("/cached/cookie-b");
    expect(only(alice).status).toBe(200);
    expect(only(alice).headers["set-cookie"]).toMatch(/^sid=alice-secret/);
    expect(only(alice).headers["x-a"]).toBe("b");
    const bob = await fetchRaw("/cached/cookie-b");
    const f = only(bob);
    expect(f.status).toBe(200);
    // Bob's answer came from the upstream, not from Alice's stored one.
    expect(f.headers["cache-status"] ?? "").not.toMatch(/hit/);
    expect(up.requests.filter((q) => q.path === "/cached/cookie-b")).toHaveLength(2);
  });
});

describe("the shared cache and broken or personal answers", () => {
  it("neither stores nor passes as whole a close-delimited body cut by a reset (RFC 9112 §8)", async () => {
    const up = ups.cached!;
    const w = new Wire(gw.port);
    w.send(`GET /cached/cut HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(await w.waitFor(() => w.text.includes("PARTIAL-"))).toBe(true);
    // Node's parser would take the close for the body's end; only the error tells it cut.
    cutMidBody!.resetAndDestroy();
    expect(await w.waitFor(() => w.closed)).toBe(true);
    const cut = parseResponses(w.text, ["GET"], true);
    w.destroy();
    // Re-framed in chunks for the client, and never given its last chunk.
    expect(cut.finals).toHaveLength(0);
    expect(w.text).toMatch(/^HTTP\/1\.1 200 /);
    const next = only(await fetchRaw("/cached/cut"));
    expect(next.body).toBe("whole");
    expect(next.headers["cache-status"]).toBe("gateway; fwd=uri-miss");
    expect(up.requests.filter((q) => q.path === "/cached/cut")).toHaveLength(2);
  });

  it("matches an answer's Vary against the client's fields, not those added for the upstream", async () => {
    const up = ups.cached!;
    const a = only(await fetchRaw("/cached/vary-forwarded"));
    expect(a.body).toBe("by-proto:http");
    const b = only(await fetchRaw("/cached/vary-forwarded"));
    expect(b.headers["cache-status"]).toBe("gateway; hit");
    expect(up.requests.filter((q) => q.path === "/cached/vary-forwarded")).toHaveLength(1);
  });

  it("does not store an answer to a request with a cookie unless it says public", async () => {
    const up = ups.cached!;
    const alice = only(await fetchRaw("/cached/me", { headers: "Cookie: sid=alice\r\n" }));
    expect(alice.body).toBe("me:sid=alice");
    const bob = only(await fetchRaw("/cached/me"));
    expect(bob.body).toBe("me:nobody");
    expect(bob.headers["cache-status"]).toBe("gateway; fwd=uri-miss");
    expect(up.requests.filter((q) => q.path === "/cached/me")).toHaveLength(2);
  });
});

describe("Connection: close", () => {
  it("serves every request when each answer says close, and closes every upstream socket itself", async () => {
    const up = ups.closer!;
    for (let i = 0; i < 20; i++) await expectOwn(`/closer/seq-${i}`);
    const paths = Array.from({ length: 30 }, (_, i) => `/closer/par-${i}`);
    const all = await Promise.all(paths.map((p) => fetchRaw(p)));
    for (const [i, r] of all.entries()) expect(only(r)).toMatchObject({ body: `own:${paths[i]}` });
    // RFC 9112 §9.6: a client that receives "close" sends nothing more on that connection and
    // closes it after reading the answer. One connection per request, none left open.
    expect(up.connections).toBe(50);
    for (let c = 1; c <= up.connections; c++) expect(up.on(c)).toHaveLength(1);
    await until(() => up.open.size === 0, 3000);
  });

  it("treats an HTTP/1.0 answer without keep-alive as close (RFC 9112 §9.3)", async () => {
    const up = ups.closer10!;
    for (let i = 0; i < 5; i++) await expectOwn(`/closer10/seq-${i}`);
    expect(up.connections).toBe(5);
    await until(() => up.open.size === 0, 3000);
  });
});

describe("trailers", () => {
  it("delivers a chunked body with trailers intact", async () => {
    const r = await fetchRaw("/trailers/x");
    const f = only(r);
    expect(f.status).toBe(200);
    expect(f.body).toBe("hello world");
    // Trailer fields are not promoted into the head.
    expect(f.headers["x-checksum"]).toBeUndefined();
    await expectOwn("/trailers/after");
  });
});

describe("status lines", () => {
  it.each([
    ["a four-digit status", "/status/four-digits"],
    ["an ICY status line", "/status/icy"],
    ["a non-HTTP answer", "/status/garbage"],
    ["a lower-case protocol name", "/status/lower-case"],
  ])("answers %s with a 502 problem and keeps serving", async (_what, path) => {
    const r = await fetchRaw(path);
    expectBadGateway(r);
    await expectOwn("/status/after");
  });

  it("answers an HTTP/2.0 status line with a 502 problem (not HTTP/1.x framing)", async () => {
    // HTTP/2 has no text status line; a "HTTP/2.0" answer on an HTTP/1.1 connection is not a
    // message this connection can carry (RFC 9112 §2.3), so it is not forwarded as a 1.1 one.
    const r = await fetchRaw("/status/http2");
    expectBadGateway(r);
    await expectOwn("/status/after");
  });

  it.each([
    ["below 100", "/status/below-100"],
    ["above 599", "/status/above-599"],
  ])("answers a status %s with a 502 problem (RFC 9110 §15)", async (_what, path) => {
    // Values outside 100..599 are invalid, and a client "SHOULD process the response as if it
    // had a 5xx": the gateway answers 502 rather than forwarding, or dropping, the message.
    const r = await fetchRaw(path);
    expectBadGateway(r);
    await expectOwn("/status/after");
  });

  it("forwards a status line without a reason phrase", async () => {
    const r = await fetchRaw("/status/no-reason");
    expect(only(r)).toMatchObject({ status: 200, body: "ok" });
  });

  it("answers a connection closed before any byte with a 502 problem", async () => {
    const r = await fetchRaw("/status/empty");
    expectProblem(only(r), 502);
  });

  it("answers bare-LF line endings either parsed or refused, never garbled", async () => {
    // RFC 9112 §2.2: a recipient MAY recognise a lone LF as a line terminator.
    const r = await fetchRaw("/status/bare-lf");
    const f = only(r);
    if (f.status === 502) expectBadGateway(r);
    else expect(f).toMatchObject({ status: 200, body: "ok" });
  });
});

describe("Content-Encoding", () => {
  it.each([
    ["with a Content-Length", "/gzip/length"],
    ["chunked", "/gzip/chunked"],
  ])("passes a gzip answer %s through byte-exact", async (_what, path) => {
    const r = await fetchRaw(path, { headers: "Accept-Encoding: gzip\r\n" });
    const f = only(r);
    expect(f.status).toBe(200);
    expect(f.headers["content-encoding"]).toBe("gzip");
    expect(Buffer.from(f.body, "latin1").equals(GZ)).toBe(true);
    if (path === "/gzip/length") expect(f.headers["content-length"]).toBe(String(GZ.length));
  });
});

describe("slow bodies", () => {
  it("streams a trickling body as it comes", async () => {
    const w = new Wire(gw.port);
    let sentAtFirstByte = -1;
    w.send(`GET /slow/trickle HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    // Wait for the first byte of the body, noting how much of it the upstream had written.
    expect(
      await w.waitFor(() => {
        const at = w.text.indexOf("\r\n\r\n");
        if (at === -1 || w.text.length <= at + 4) return false;
        sentAtFirstByte = trickleSent;
        return true;
      }, 5000),
    ).toBe(true);
    await w.waitFor(() => w.closed, 5000);
    const r = parseResponses(w.text, [], true);
    w.destroy();
    expect(r.finals).toHaveLength(1);
    expect(r.finals[0]!.body).toHaveLength(TRICKLE_BYTES);
    // The client had its first byte while most of the body was still to be written.
    expect(sentAtFirstByte).toBeGreaterThan(0);
    expect(sentAtFirstByte).toBeLessThan(TRICKLE_BYTES / 2);
  });

  it("cuts a body that stalls mid-way once it has paused for the per-try timeout", async () => {
    // nginx (proxy_read_timeout) and Envoy (stream idle timeout) end a body that stops
    // arriving; the client must not wait on it forever.
    const started = Date.now();
    const r = await fetchRaw("/slow/stall", { closeMs: SLOW_PER_TRY_MS + 4000 });
    const ms = Date.now() - started;
    expect(r.closed, "the gateway cut the stalled answer").toBe(true);
    expect(r.finals).toEqual([]);
    expect(ms).toBeGreaterThanOrEqual(SLOW_PER_TRY_MS - 50);
    expect(ms).toBeLessThan(SLOW_PER_TRY_MS + 3000);
    await expectRetired(ups.slow!, "/slow/stall");
  }, 15_000);
});
