/**
 * The one owner of http-proxy. Each attempt goes through http-proxy with a keep-alive agent
 * per endpoint and `selfHandleResponse`, and resolves as soon as the upstream's response
 * headers arrive, classified once with the core's `classify`. The caller then streams the
 * response to the client (`send`) or throws it away (`discard`), so a retriable 5xx is never
 * half-sent.
 *
 * The request path is kept lean because it runs for every attempt:
 * - one ProxyServer per endpoint with its options fixed, so a bodiless request is proxied with
 *   `web(req, res, cb)` and http-proxy copies no per-call options;
 * - the endpoint's agent hands out an idle pooled socket without the generic agent's option
 *   spread and pool-name building, and idle sockets are closed by a sweep instead of a socket
 *   timeout armed on every request;
 * - a response that arrived whole with its headers (most small answers) is written with one
 *   `writeHead` + `end(body)`, without stream listeners.
 */
import http, { type IncomingMessage, type ServerResponse, type ClientRequest } from "node:http";
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import httpProxy from "http-proxy";
import { classify, type Clock, type Outcome } from "@rg/core";
import type { BodySource } from "../request/body";
import { sendProblem } from "../http/problem";
import { filterRawResponseHeaders } from "../request/headers";

export interface AttemptOutcome<R> {
  outcome: Outcome;
  response?: R;
}

export interface ProxyTarget {
  id: string;
  url: string;
}

export interface AttemptOptions {
  /** Path and query sent upstream. */
  path: string;
  /** The request body for this attempt; undefined when the request has none. */
  body: BodySource | undefined;
  /** Aborts at the per-try timeout, the deadline or when the client goes away. */
  signal: AbortSignal;
  connectTimeoutMs: number;
  isFailureStatus: (status: number) => boolean;
  /**
   * True when a failure was the client's doing (its body outgrew the cap mid-stream): the
   * attempt is then a client error, never a failure counted against the upstream.
   */
  clientFault: (() => boolean) | undefined;
}

/** The ClientRequest the running `web()` call created (set synchronously inside it). */
let captured: ClientRequest | undefined;
/** Whether that request was handed an already connected pooled socket. */
let capturedReused = false;

function takeCaptured(): ClientRequest | undefined {
  const req = captured;
  captured = undefined;
  return req;
}

const kFreedAt = Symbol("rg.freedAt");
const kIdle = Symbol("rg.idle");
type PooledSocket = Socket & { [kFreedAt]?: number; [kIdle]?: boolean };

/**
 * Bytes on an idle pooled socket answer no request: its framing can no longer be trusted,
 * and whatever follows would be read as the next request's answer. The socket is closed,
 * as nginx and Envoy do. The listener stays on the socket for its life (adding and removing
 * one per request would resume the stream each time); while the socket serves a request
 * it only reads a flag.
 */
function strayListener(this: PooledSocket): void {
  if (this[kIdle] === true) this.destroy();
}

/**
 * An agent for one endpoint. Taking an idle socket is the common case under load, so it is
 * done here directly (LIFO, as `scheduling: "lifo"`); everything else (new sockets, queueing
 * at maxSockets, returning sockets to the pool) is http.Agent's own.
 */
export class EndpointAgent extends http.Agent {
  /** The pool key http.Agent derives from the request options (host:port:). */
  readonly poolName: string;

  constructor(opts: http.AgentOptions, host: string, port: number) {
    super(opts);
    this.poolName = this.getName({ host, port });
  }

  addRequest(req: ClientRequest, options: unknown): void {
    captured = req;
    const free = this.freeSockets[this.poolName];
    if (free !== undefined) {
      let socket: Socket | undefined;
      while (free.length > 0) {
        const s = free.pop()!;
        if (!s.destroyed) {
          socket = s;
          break;
        }
      }
      if (free.length === 0) delete (this.freeSockets as Record<string, Socket[]>)[this.poolName];
      if (socket !== undefined) {
        (socket as PooledSocket)[kIdle] = false;
        capturedReused = true;
        this.reuseSocket(socket, req);
        (req as ClientRequest & { onSocket(s: Socket): void }).onSocket(socket);
        const busy = this.sockets as Record<string, Socket[]>;
        (busy[this.poolName] ??= []).push(socket);
        return;
      }
    }
    capturedReused = false;
    (
      http.Agent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }
    ).addRequest.call(this, req, options);
  }

  /** Set once the endpoint left the config: sockets close as their requests finish. */
  private retired = false;

  override keepSocketAlive(socket: Socket): boolean {
    if (this.retired) return false;
    const keep = (super.keepSocketAlive as (s: Socket) => boolean)(socket);
    if (keep) {
      const s = socket as PooledSocket;
      s[kFreedAt] = Date.now();
      if (s[kIdle] === undefined) s.on("data", strayListener);
      s[kIdle] = true;
    }
    return keep;
  }

  /**
   * Stop pooling: idle sockets close now, sockets in use when their request (and any request
   * queued behind it) is done. Requests in flight are not cut off.
   */
  retire(): void {
    this.retired = true;
    this.closeIdle(Date.now(), 0);
  }

  /** Close pooled sockets idle for `idleMs` or longer. */
  closeIdle(now: number, idleMs: number): void {
    for (const list of Object.values(this.freeSockets)) {
      if (list === undefined) continue;
      for (const s of [...list]) {
        if (now - ((s as PooledSocket)[kFreedAt] ?? now) >= idleMs) s.destroy();
      }
    }
  }

  /** Sockets open to this endpoint (in use and idle). */
  socketCount(): number {
    let n = 0;
    for (const list of Object.values(this.sockets)) n += list?.length ?? 0;
    for (const list of Object.values(this.freeSockets)) n += list?.length ?? 0;
    return n;
  }
}

const kInterimSent = Symbol("rg.interimSent");
type InterimResponse = ServerResponse & { [kInterimSent]?: number };
/** Interim answers passed on per request; an upstream may send any number of them. */
const MAX_INTERIM = 8;

/**
 * Pass an upstream's interim answer on, as a proxy must (RFC 9110 §15.2): 103 Early Hints
 * with their Link fields (RFC 8297) and 102 Processing. Not to an HTTP/1.0 client, which
 * cannot read them, and not a 100 Continue: the gateway answers Expect itself. Node's
 * response API writes no other 1xx code, and a 103 without Link hints nothing.
 */
function forwardInterim(
  req: IncomingMessage,
  res: ServerResponse,
  info: http.InformationEvent,
): void {
  const r = res as InterimResponse;
  if (res.headersSent || res.destroyed || req.httpVersionMinor === 0) return;
  const sent = r[kInterimSent] ?? 0;
  if (sent >= MAX_INTERIM) return;
  if (info.statusCode === 102) {
    r[kInterimSent] = sent + 1;
    res.writeProcessing();
    return;
  }
  if (info.statusCode !== 103) return;
  const hints: Record<string, string | string[]> = {};
  const raw = filterRawResponseHeaders(info.rawHeaders);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const prev = hints[name];
    hints[name] =
      prev === undefined ? raw[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), raw[i + 1]!];
  }
  if (hints.link === undefined) return;
  r[kInterimSent] = sent + 1;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // A Link value Node will not write (RFC 8288 syntax): the hint is dropped, not the answer.
  }
}

/** How long an idle pooled socket is kept; below Node servers' 5 s keepAliveTimeout default. */
export const POOL_IDLE_MS = 4000;
/** Bodies up to this size are drained to keep the socket; bigger ones are cut. */
const DRAIN_LIMIT = 64 * 1024;

/** What http-proxy pipes upstream for a request without a body. */
const NO_BODY: BodySource = {
  pipe(dest) {
    dest.end();
    return dest;
  },
};

type Web = (req: IncomingMessage, res: ServerResponse, ...rest: unknown[]) => void;

interface Endpoint {
  agent: EndpointAgent;
  host: string;
  port: number;
  proxy: httpProxy;
  /**
   * `proxy.web`, bound. Called as web(req, res, cb) it uses the server's options as they are;
   * any options argument makes http-proxy copy them all for the call.
   */
  web: Web;
}

export class UpstreamResponse {
  /**
   * The connection failed before the body was whole. Node marks a body that runs to the
   * connection's close (no Content-Length, not chunked) complete even when a reset ended
   * it, so `message.complete` alone would pass a cut-off body as whole (RFC 9112 §8).
   */
  private broke = false;

  constructor(
    readonly status: number,
    readonly message: IncomingMessage,
    private readonly proxyReq: ClientRequest,
  ) {
    // Emitted before Node's parser finishes such a body, so it is set by its end.
    proxyReq.on("error", () => {
      if (!message.complete) this.broke = true;
    });
  }

  /** The whole body arrived. */
  private get whole(): boolean {
    return this.message.complete && !this.broke;
  }

  get headers(): IncomingMessage["headers"] {
    return this.message.headers;
  }

  /** Response headers fit for a shared cache entry: no hop-by-hop fields, no cookies. */
  storableRawHeaders(): string[] {
    const all = filterRawResponseHeaders(this.message.rawHeaders, [], this.status === 204);
    const out: string[] = [];
    for (let i = 0; i < all.length; i += 2) {
      if (all[i]!.toLowerCase() === "set-cookie") continue;
      out.push(all[i]!, all[i + 1]!);
    }
    return out;
  }

  /**
   * Send to the client. `extraHeaders` (flat name/value list, lower-case names) replace the
   * upstream's fields of the same name; `onChunk` sees the body (to fill the cache) and
   * `onEnd` runs once, saying how the answer ended (see BodyEnd). When the upstream broke
   * off, the client connection is destroyed, never given a clean short body. It is cut the
   * same way when the body stops arriving for `limits.upstreamIdleMs`, or when the client
   * reads none of it for `limits.clientStallMs` (which would otherwise hold the upstream
   * socket forever).
   */
  send(
    res: ServerResponse,
    extraHeaders: readonly string[],
    limits: StreamLimits,
    onChunk?: (chunk: Buffer) => void,
    onEnd?: (end: BodyEnd) => void,
  ): void {
    const msg = this.message;
    const headers = filterRawResponseHeaders(msg.rawHeaders, extraHeaders, this.status === 204);
    for (let i = 0; i < extraHeaders.length; i++) headers.push(extraHeaders[i]!);

    if (msg.complete) {
      if (this.broke) {
        // Cut off before this answer was sent: the client must not see a clean short body.
        res.destroy();
        return onEnd?.(CUT_BY_RESET);
      }
      // The whole answer arrived with its headers: one write, no stream plumbing. Reading
      // the buffered body to its end also hands the upstream socket back to the pool.
      const body = msg.read() as Buffer | null;
      if (!this.writeHead(res, headers, extraHeaders)) return onEnd?.(BAD_HEADERS);
      if (body !== null && body.length > 0) {
        onChunk?.(body);
        res.end(body);
      } else {
        res.end();
      }
      onEnd?.(WHOLE);
      return;
    }

    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (end: BodyEnd) => {
      if (finished) return;
      finished = true;
      if (idle !== undefined) clearTimeout(idle);
      onEnd?.(end);
    };
    const broken = (end: BodyEnd) => {
      if (this.whole) return;
      finish(end);
      res.destroy();
    };
    const onBroken = () => broken(CUT_BY_RESET);
    // Which side the idle timer waits on: the upstream to send, or the client to read.
    let waitingOn: "upstream" | "client" = "upstream";
    const cut = () => {
      this.proxyReq.destroy();
      broken(waitingOn === "upstream" ? UPSTREAM_STALLED : CLIENT_STALLED);
    };
    const arm = (on: "upstream" | "client", ms: number) => {
      waitingOn = on;
      if (idle !== undefined) clearTimeout(idle);
      idle = ms > 0 ? setTimeout(cut, ms) : undefined;
    };
    arm("upstream", limits.upstreamIdleMs);
    msg.on("aborted", onBroken);
    msg.on("error", onBroken);
    res.on("close", () => {
      if (!this.whole) {
        // The client went away: free the upstream socket.
        this.proxyReq.destroy();
        finish(CLIENT_LEFT);
      }
    });
    if (!this.writeHead(res, headers, extraHeaders)) return finish(BAD_HEADERS);
    msg.on("data", (chunk: Buffer) => {
      onChunk?.(chunk);
      if (res.write(chunk)) idle?.refresh();
      else {
        // Waiting on the client now, not the upstream.
        arm("client", limits.clientStallMs);
        msg.pause();
      }
    });
    res.on("drain", () => {
      if (!finished) arm("upstream", limits.upstreamIdleMs);
      msg.resume();
    });
    msg.on("end", () => {
      if (!this.whole) return onBroken();
      res.end();
      finish(WHOLE);
    });
  }

  /**
   * False when Node refuses the upstream's header values: the upstream answer is thrown
   * away and the client gets a 502 problem instead (nothing of the answer has been sent).
   */
  private writeHead(
    res: ServerResponse,
    headers: string[],
    extraHeaders: readonly string[],
  ): boolean {
    try {
      res.writeHead(this.status, headers);
      return true;
    } catch {
      // The upstream connection cannot be trusted to carry another answer.
      this.proxyReq.destroy();
      const id = extraHeaders.indexOf("x-request-id");
      try {
        sendProblem(res, "RG_BAD_UPSTREAM_RESPONSE", {
          ...(id !== -1 && id % 2 === 0 ? { requestId: extraHeaders[id + 1]! } : {}),
          detail: "the upstream's response headers cannot be forwarded",
        });
      } catch {
        res.destroy();
      }
      return false;
    }
  }

  /** Stop the answer where it is: the upstream request is destroyed. */
  abort(): void {
    this.proxyReq.destroy();
  }

  /**
   * Read the whole body; undefined when it is longer than `limit` (the upstream request is
   * then cut), when it has not ended within `timeoutMs` (when given; cut the same way), or
   * the upstream broke off.
   */
  async bytes(limit: number, timeoutMs = 0): Promise<Buffer | undefined> {
    const timer = timeoutMs > 0 ? setTimeout(() => this.abort(), timeoutMs) : undefined;
    try {
      return await this.readAll(limit);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readAll(limit: number): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of this.message as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > limit) {
          this.proxyReq.destroy();
          return undefined;
        }
        chunks.push(c);
      }
    } catch {
      return undefined;
    }
    return this.whole ? Buffer.concat(chunks) : undefined;
  }

  /** Throw the response away; small bodies are drained so the keep-alive socket survives. */
  discard(): void {
    const msg = this.message;
    if (msg.complete) {
      msg.resume();
      return;
    }
    const cl = Number(msg.headers["content-length"]);
    if (Number.isFinite(cl) && cl <= DRAIN_LIMIT) {
      msg.on("error", () => {});
      msg.resume();
    } else {
      this.proxyReq.destroy();
    }
  }
}

/**
 * How an answer sent to the client ended. `upstream`: the upstream broke off, stalled or
 * sent headers that cannot be forwarded, a failure of the upstream (`errorCode` says which);
 * `client`: the client left or stopped reading, which says nothing about the upstream.
 */
export type BodyEnd =
  { by: "whole" } | { by: "client" } | { by: "upstream"; errorCode: string; timedOut: boolean };

const WHOLE: BodyEnd = { by: "whole" };
const CLIENT_LEFT: BodyEnd = { by: "client" };
const CLIENT_STALLED: BodyEnd = CLIENT_LEFT;
const CUT_BY_RESET: BodyEnd = { by: "upstream", errorCode: "ECONNRESET", timedOut: false };
const UPSTREAM_STALLED: BodyEnd = { by: "upstream", errorCode: "EBODYTIMEOUT", timedOut: true };
const BAD_HEADERS: BodyEnd = { by: "upstream", errorCode: "EBADHEADERS", timedOut: false };

/** How long a streamed answer may make no progress, waiting on either side. */
export interface StreamLimits {
  /** The upstream sends nothing more (the route's per-try timeout). */
  upstreamIdleMs: number;
  /** The client reads nothing more (`gateway.limits.sendTimeoutMs`). */
  clientStallMs: number;
}

/**
 * The upstream's answer to a WebSocket handshake: either it switched protocols (`tunnel`
 * holds its connection, taken out of the pool, and the bytes that came with the 101) or it
 * answered like any request (`answer`), which the client then gets instead.
 */
export class UpgradeResponse {
  constructor(
    readonly status: number,
    readonly message: IncomingMessage,
    readonly tunnel: { socket: Socket; head: Buffer } | undefined,
    readonly answer: UpstreamResponse | undefined,
  ) {}

  discard(): void {
    if (this.tunnel) this.tunnel.socket.destroy();
    else this.answer?.discard();
  }
}

export interface UpgradeOptions {
  path: string;
  /** The handshake's request headers, prepared for the upstream. */
  headers: http.OutgoingHttpHeaders;
  /** Aborts at the per-try timeout, the deadline or when the client goes away. */
  signal: AbortSignal;
  connectTimeoutMs: number;
  isFailureStatus: (status: number) => boolean;
}

export interface AdapterOptions {
  clock: Clock;
}

const noop = () => {};
const ONCE = { once: true } as const;

/** An attempt that ended without a usable answer: a timeout, or a connection error's code. */
function failureOutcome(durationMs: number, timedOut: boolean, code: string | undefined): Outcome {
  return classify(
    code === undefined || timedOut
      ? { durationMs, timedOut }
      : { durationMs, timedOut, errorCode: code },
  );
}

/** RFC 6455 §1.3: the value appended to a handshake's key before it is hashed. */
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The upstream's 101 switches to WebSocket and answers the client's key. */
function acceptsHandshake(msg: IncomingMessage, key: unknown): boolean {
  if ((msg.headers.upgrade ?? "").trim().toLowerCase() !== "websocket") return false;
  if (typeof key !== "string") return false;
  const expected = createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
  return msg.headers["sec-websocket-accept"]?.trim() === expected;
}

/** The failure an answer cut by its upstream counts as, classified like a failed attempt. */
export function cutOutcome(end: Extract<BodyEnd, { by: "upstream" }>, durationMs: number): Outcome {
  return failureOutcome(durationMs, end.timedOut, end.errorCode);
}

/** An upstream's answer, with its Retry-After read for the retry and breaker policies. */
function responseOutcome(
  msg: IncomingMessage,
  status: number,
  durationMs: number,
  clock: Clock,
  isFailureStatus: (status: number) => boolean,
): Outcome {
  const ra = msg.headers["retry-after"];
  return classify(
    ra === undefined
      ? { status, durationMs }
      : { status, durationMs, retryAfter: ra, wallNow: clock.wallNow() },
    { isFailureStatus },
  );
}

/**
 * The connect timeout of a request that may get a new socket: armed when the socket it gets
 * is still connecting, cleared once connected. `onTimeout` destroys the request.
 */
function connectTimeout(
  req: ClientRequest,
  ms: number,
  settled: () => boolean,
  onTimeout: () => void,
): { clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  req.once("socket", (socket: Socket) => {
    if (!socket.connecting || settled()) return;
    timer = setTimeout(onTimeout, ms);
    socket.once("connect", () => clearTimeout(timer));
  });
  return { clear: () => clearTimeout(timer) };
}

export class HttpProxyAdapter {
  /**
   * Pools by upstream, then by endpoint URL. Two upstreams that name the same address keep
   * pools of their own, so each keeps its own size and one cannot take the other's sockets.
   */
  private readonly endpoints = new Map<string, Map<string, Endpoint>>();
  /** Endpoints no longer configured whose last requests are still running. */
  private readonly retiring = new Set<Endpoint>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(opts: AdapterOptions) {
    this.clock = opts.clock;
    this.sweeper = setInterval(() => this.closeIdle(Date.now()), 1000);
    this.sweeper.unref();
  }

  /** Create or resize the pool for one of an upstream's endpoint URLs. */
  ensureEndpoint(upstream: string, url: string, maxSockets: number): void {
    let pools = this.endpoints.get(upstream);
    if (pools === undefined) this.endpoints.set(upstream, (pools = new Map()));
    const existing = pools.get(url);
    if (existing) {
      existing.agent.maxSockets = maxSockets;
      existing.agent.maxFreeSockets = maxSockets;
      return;
    }
    const u = new URL(url);
    const hostname = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
    const agent = new EndpointAgent(
      { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" },
      hostname,
      port,
    );
    const proxy = httpProxy.createProxyServer({
      target: { protocol: u.protocol, host: u.hostname, hostname, port } as never,
      agent,
      selfHandleResponse: true,
      // The path is prepared by the routing layer; skip http-proxy's url.parse of req.url.
      prependPath: false,
      toProxy: true,
      xfwd: false,
      changeOrigin: false,
      buffer: NO_BODY as unknown as httpProxy.ServerOptions["buffer"],
    });
    // Errors reach the per-request callback; this keeps a stray one from crashing the process.
    proxy.on("error", noop);
    pools.set(url, { agent, host: hostname, port, proxy, web: proxy.web.bind(proxy) as Web });
  }

  /**
   * Retire the pools of endpoints no longer configured (`configured`: endpoint URLs by
   * upstream). New attempts can no longer reach them; the requests already in flight there
   * finish, and then their sockets close.
   */
  retainOnly(configured: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [upstream, pools] of this.endpoints) {
      const urls = configured.get(upstream);
      for (const [url, ep] of pools) {
        if (urls?.has(url)) continue;
        pools.delete(url);
        ep.agent.retire();
        this.retiring.add(ep);
      }
      if (pools.size === 0) this.endpoints.delete(upstream);
    }
    this.forgetRetired();
  }

  private *pools(): IterableIterator<Endpoint> {
    for (const pools of this.endpoints.values()) yield* pools.values();
  }

  private forgetRetired(): void {
    for (const ep of this.retiring) {
      if (ep.agent.socketCount() === 0) {
        ep.agent.destroy();
        ep.proxy.close();
        this.retiring.delete(ep);
      }
    }
  }

  /** Close pooled sockets that have been idle for POOL_IDLE_MS. */
  closeIdle(now: number, idleMs = POOL_IDLE_MS): void {
    for (const ep of this.pools()) ep.agent.closeIdle(now, idleMs);
    this.forgetRetired();
  }

  /** Sockets currently open to upstreams (in use and idle, retired endpoints included). */
  socketCount(): number {
    let n = 0;
    for (const ep of this.pools()) n += ep.agent.socketCount();
    for (const ep of this.retiring) n += ep.agent.socketCount();
    return n;
  }

  attempt(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: string,
    target: ProxyTarget,
    opts: AttemptOptions,
  ): Promise<AttemptOutcome<UpstreamResponse>> {
    const ep = this.endpoint(upstream, target.url);
    const clock = this.clock;
    const signal = opts.signal;
    const started = clock.now();
    return new Promise((resolve) => {
      let settled = false;
      let connect: { clear(): void } | undefined;
      let pr: ClientRequest | undefined = undefined;
      let failure: string | undefined;
      let timedOut = false;

      const settle = (r: AttemptOutcome<UpstreamResponse>) => {
        if (settled) return;
        settled = true;
        connect?.clear();
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const settleError = (code: string | undefined) => {
        if (opts.clientFault?.()) {
          settle({ outcome: classify({ status: 413, durationMs: clock.now() - started }) });
          return;
        }
        settle({ outcome: failureOutcome(clock.now() - started, timedOut, code) });
      };
      const onAbort = () => {
        timedOut = true;
        pr?.destroy();
        settleError(undefined);
      };
      if (signal.aborted) {
        timedOut = true;
        settleError(undefined);
        return;
      }
      signal.addEventListener("abort", onAbort, ONCE);

      req.url = opts.path;
      takeCaptured();
      const onError = (err: Error & { code?: string }) =>
        settleError(failure ?? err.code ?? "EPROXY");
      if (opts.body === undefined) ep.web(req, res, onError);
      else ep.web(req, res, { buffer: opts.body }, onError);
      pr = takeCaptured();
      if (pr === undefined) {
        settleError("EPROXY");
        return;
      }
      const proxyReq = pr;
      if (!capturedReused) {
        connect = connectTimeout(
          proxyReq,
          opts.connectTimeoutMs,
          () => settled,
          () => {
            failure = "ECONNECT_TIMEOUT";
            proxyReq.destroy();
            settleError(failure);
          },
        );
      }
      proxyReq.on("information", (info: http.InformationEvent) => forwardInterim(req, res, info));
      // A ClientRequest emits these once each, so plain listeners do (without once's wrapper).
      proxyReq.on("response", (msg: IncomingMessage) => {
        // A listener must exist before the stream can fail, or the error would be unhandled.
        msg.on("error", noop);
        const status = msg.statusCode ?? 502;
        if (settled) {
          msg.resume();
          return;
        }
        if (status < 100 || status > 599 || msg.httpVersionMajor !== 1) {
          // Node's parser takes any three digits and an HTTP/2.0 status line; neither is an
          // answer an HTTP/1.1 client can be given (RFC 9110 §15, RFC 9112 §4).
          proxyReq.destroy();
          settleError("HPE_INVALID_STATUS");
          return;
        }
        settle({
          outcome: responseOutcome(msg, status, clock.now() - started, clock, opts.isFailureStatus),
          response: new UpstreamResponse(status, msg, proxyReq),
        });
      });
      proxyReq.on("close", () => {
        if (!settled) settleError(failure ?? "ECONNRESET");
      });
    });
  }

  private endpoint(upstream: string, url: string): Endpoint {
    let ep = this.endpoints.get(upstream)?.get(url);
    if (!ep) {
      // A retry after shutdown closed the pools must not open new ones.
      if (this.closed) throw new Error("the upstream pools are closed");
      this.ensureEndpoint(upstream, url, 256);
      ep = this.endpoints.get(upstream)!.get(url)!;
    }
    return ep;
  }

  /**
   * One attempt at a WebSocket handshake, through the endpoint's pool. It resolves when the
   * upstream switches protocols or answers otherwise, classified like any attempt, and writes
   * nothing to the client: the caller decides what the client gets, so a failed handshake can
   * be retried elsewhere or answered with a problem. (http-proxy's `ws()` writes a refused
   * handshake's answer straight to the client and ends the client's socket on any upstream
   * error, which would allow neither.) The client's bytes are sent upstream only once the
   * tunnel is joined: before a 101 they would be read as the next request on a pooled socket.
   */
  upgrade(
    upstream: string,
    target: ProxyTarget,
    opts: UpgradeOptions,
  ): Promise<AttemptOutcome<UpgradeResponse>> {
    const ep = this.endpoint(upstream, target.url);
    const clock = this.clock;
    const signal = opts.signal;
    const started = clock.now();
    if (signal.aborted) return Promise.resolve({ outcome: failureOutcome(0, true, undefined) });
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      let failure: string | undefined;
      const pr = http.request({
        agent: ep.agent,
        host: ep.host,
        port: ep.port,
        method: "GET",
        path: opts.path,
        headers: opts.headers,
      });
      takeCaptured();
      const connect = connectTimeout(
        pr,
        opts.connectTimeoutMs,
        () => settled,
        () => {
          failure = "ECONNECT_TIMEOUT";
          pr.destroy();
          fail(failure);
        },
      );
      const settle = (r: AttemptOutcome<UpgradeResponse>) => {
        if (settled) return;
        settled = true;
        connect.clear();
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const fail = (code: string | undefined) =>
        settle({ outcome: failureOutcome(clock.now() - started, timedOut, code) });
      const onAbort = () => {
        timedOut = true;
        pr.destroy();
        fail(undefined);
      };
      signal.addEventListener("abort", onAbort, ONCE);
      pr.on("upgrade", (msg: IncomingMessage, socket: Socket, head: Buffer) => {
        // Node no longer listens for this socket's errors: until the tunnel does, this one.
        socket.on("error", noop);
        if (settled) {
          socket.destroy();
          return;
        }
        // A 101 that is not this handshake's (another protocol, or an Accept that does not
        // answer the key) would be relayed to a client that must refuse it: it is the
        // upstream's failure, retried and counted like one (RFC 6455 §4.1).
        if (!acceptsHandshake(msg, opts.headers["sec-websocket-key"])) {
          socket.destroy();
          pr.destroy();
          fail("EBADHANDSHAKE");
          return;
        }
        settle({
          outcome: classify({ status: 101, durationMs: clock.now() - started }),
          response: new UpgradeResponse(101, msg, { socket, head }, undefined),
        });
      });
      pr.on("response", (msg: IncomingMessage) => {
        msg.on("error", noop);
        const status = msg.statusCode ?? 502;
        if (settled) {
          msg.resume();
          return;
        }
        if (status < 200 || status > 599 || msg.httpVersionMajor !== 1) {
          pr.destroy();
          fail("HPE_INVALID_STATUS");
          return;
        }
        settle({
          outcome: responseOutcome(msg, status, clock.now() - started, clock, opts.isFailureStatus),
          response: new UpgradeResponse(
            status,
            msg,
            undefined,
            new UpstreamResponse(status, msg, pr),
          ),
        });
      });
      pr.on("error", (err: Error & { code?: string }) => fail(failure ?? err.code ?? "EPROXY"));
      pr.on("close", () => {
        if (!settled) fail(failure ?? "ECONNRESET");
      });
      pr.end();
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const ep of [...this.pools(), ...this.retiring]) {
      ep.agent.destroy();
      ep.proxy.close();
    }
    this.endpoints.clear();
    this.retiring.clear();
  }
}
