/**
 * The one owner of http-proxy. Each attempt goes through http-proxy with a keep-alive agent
 * per endpoint and `selfHandleResponse`, and resolves as soon as the upstream's response
 * headers arrive, classified once with the core's `classify`. The caller then streams the
 * response to the client (`send`) or throws it away (`discard`), so a retriable 5xx is never
 * half-sent.
 */
import http, { type IncomingMessage, type ServerResponse, type ClientRequest } from "node:http";
import type { Socket } from "node:net";
import httpProxy from "http-proxy";
import { classify, type Clock, type Outcome } from "@rg/core";
import type { BodySource } from "../request/body";
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
  body: BodySource;
  /** Aborts at the per-try timeout, the deadline or when the client goes away. */
  signal: AbortSignal;
  connectTimeoutMs: number;
  isFailureStatus: (status: number) => boolean;
  /** Extra request headers for this attempt only (e.g. the remaining deadline). */
  headers?: Record<string, string>;
  /**
   * True when a failure was the client's doing (its body outgrew the cap mid-stream): the
   * attempt is then a client error, never a failure counted against the upstream.
   */
  clientFault?: () => boolean;
}

interface Endpoint {
  agent: CapturingAgent;
  target: { protocol: string; host: string; hostname: string; port: number };
}

let captured: ClientRequest | undefined;

/** An agent that hands back the ClientRequest http-proxy creates, synchronously. */
class CapturingAgent extends http.Agent {
  addRequest(req: ClientRequest, options: unknown): void {
    captured = req;
    (
      http.Agent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }
    ).addRequest.call(this, req, options);
  }
}

/** How long an idle pooled socket is kept; below Node servers' 5 s keepAliveTimeout default. */
const POOL_IDLE_MS = 4000;
/** Bodies up to this size are drained to keep the socket; bigger ones are cut. */
const DRAIN_LIMIT = 64 * 1024;

export class UpstreamResponse {
  constructor(
    readonly status: number,
    readonly message: IncomingMessage,
    private readonly proxyReq: ClientRequest,
  ) {}

  get headers(): IncomingMessage["headers"] {
    return this.message.headers;
  }

  /** Response headers fit for a shared cache entry: no hop-by-hop fields, no cookies. */
  storableRawHeaders(): string[] {
    const all = filterRawResponseHeaders(this.message.rawHeaders);
    const out: string[] = [];
    for (let i = 0; i < all.length; i += 2) {
      if (all[i]!.toLowerCase() === "set-cookie") continue;
      out.push(all[i]!, all[i + 1]!);
    }
    return out;
  }

  /**
   * Stream to the client. `extraHeaders` are appended (flat name/value list); `onChunk` sees
   * each chunk (to fill the cache) and `onEnd` runs once, with `complete` false when the
   * upstream broke off (the client connection is then destroyed, never a clean short body).
   */
  send(
    res: ServerResponse,
    extraHeaders: readonly string[],
    onChunk?: (chunk: Buffer) => void,
    onEnd?: (complete: boolean) => void,
  ): void {
    const msg = this.message;
    // Fields the gateway sets itself (request id, cache status…) replace the upstream's.
    const own: string[] = [];
    for (let i = 0; i < extraHeaders.length; i += 2) own.push(extraHeaders[i]!.toLowerCase());
    const headers = filterRawResponseHeaders(msg.rawHeaders, own);
    for (const h of extraHeaders) headers.push(h);
    let finished = false;
    const finish = (complete: boolean) => {
      if (finished) return;
      finished = true;
      onEnd?.(complete);
    };
    const broken = () => {
      if (msg.complete) return;
      finish(false);
      res.destroy();
    };
    msg.on("aborted", broken);
    msg.on("error", broken);
    res.on("close", () => {
      if (!msg.complete) {
        // The client went away: free the upstream socket.
        this.proxyReq.destroy();
        finish(false);
      }
    });
    try {
      res.writeHead(this.status, headers);
    } catch {
      // Headers Node refuses to write (invalid characters): treat as a bad upstream answer.
      this.discard();
      finish(false);
      res.destroy();
      return;
    }
    msg.on("data", (chunk: Buffer) => {
      onChunk?.(chunk);
      if (!res.write(chunk)) msg.pause();
    });
    res.on("drain", () => msg.resume());
    msg.on("end", () => {
      if (!msg.complete) return broken();
      res.end();
      finish(true);
    });
  }

  /** Read the whole body (for small answers that must be inspected), bounded. */
  async text(limit = 1_048_576): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of this.message as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > limit) {
        this.proxyReq.destroy();
        break;
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /** Throw the response away; small bodies are drained so the keep-alive socket survives. */
  discard(): void {
    const cl = Number(this.message.headers["content-length"]);
    if (Number.isFinite(cl) && cl <= DRAIN_LIMIT) {
      this.message.on("error", () => {});
      this.message.resume();
    } else {
      this.proxyReq.destroy();
    }
  }
}

export interface AdapterOptions {
  clock: Clock;
}

export class HttpProxyAdapter {
  private readonly proxy = httpProxy.createProxyServer({
    selfHandleResponse: true,
    // The path is prepared by the routing layer; skip http-proxy's url.parse of req.url.
    prependPath: false,
    toProxy: true,
    xfwd: false,
    changeOrigin: false,
  });
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly clock: Clock;

  constructor(opts: AdapterOptions) {
    this.clock = opts.clock;
    // Errors reach the per-request callback; this keeps a stray one from crashing the process.
    this.proxy.on("error", () => {});
  }

  /** Create or resize the pool for an endpoint URL. */
  ensureEndpoint(url: string, maxSockets: number): void {
    const existing = this.endpoints.get(url);
    if (existing) {
      existing.agent.maxSockets = maxSockets;
      existing.agent.maxFreeSockets = maxSockets;
      return;
    }
    const u = new URL(url);
    const agent = new CapturingAgent({
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      timeout: POOL_IDLE_MS,
      scheduling: "lifo",
    });
    this.endpoints.set(url, {
      agent,
      target: {
        protocol: u.protocol,
        host: u.hostname,
        hostname: u.hostname.replace(/^\[|\]$/g, ""),
        port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
      },
    });
  }

  /** Drop pools for endpoints no longer configured. */
  retainOnly(urls: ReadonlySet<string>): void {
    for (const [url, ep] of this.endpoints) {
      if (!urls.has(url)) {
        ep.agent.destroy();
        this.endpoints.delete(url);
      }
    }
  }

  /** Sockets currently open to upstreams (in use and idle). */
  socketCount(): number {
    let n = 0;
    for (const ep of this.endpoints.values()) {
      for (const list of Object.values(ep.agent.sockets)) n += list?.length ?? 0;
      for (const list of Object.values(ep.agent.freeSockets)) n += list?.length ?? 0;
    }
    return n;
  }

  attempt(
    req: IncomingMessage,
    res: ServerResponse,
    target: ProxyTarget,
    opts: AttemptOptions,
  ): Promise<AttemptOutcome<UpstreamResponse>> {
    let ep = this.endpoints.get(target.url);
    if (!ep) {
      this.ensureEndpoint(target.url, 256);
      ep = this.endpoints.get(target.url)!;
    }
    const clock = this.clock;
    const started = clock.now();
    return new Promise((resolve) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      let proxyReq: ClientRequest | undefined = undefined;
      let failure: { code?: string; timedOut?: boolean } | undefined;

      const settle = (r: AttemptOutcome<UpstreamResponse>) => {
        if (settled) return;
        settled = true;
        if (connectTimer) clearTimeout(connectTimer);
        opts.signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const settleError = (code: string | undefined, timedOut: boolean) => {
        if (opts.clientFault?.()) {
          settle({ outcome: classify({ status: 413, durationMs: clock.now() - started }) });
          return;
        }
        settle({
          outcome: classify({
            durationMs: clock.now() - started,
            timedOut,
            ...(code !== undefined ? { errorCode: code } : {}),
          }),
        });
      };
      const onAbort = () => {
        failure = { timedOut: true };
        proxyReq?.destroy();
        settleError(undefined, true);
      };
      if (opts.signal.aborted) {
        settleError(undefined, true);
        return;
      }
      opts.signal.addEventListener("abort", onAbort, { once: true });

      req.url = opts.path;
      captured = undefined;
      this.proxy.web(
        req,
        res,
        {
          target: ep.target as unknown as httpProxy.ProxyTargetUrl,
          agent: ep.agent,
          buffer: opts.body as unknown as httpProxy.ServerOptions["buffer"],
          ...(opts.headers ? { headers: opts.headers } : {}),
        },
        (err: Error & { code?: string }) => {
          if (failure?.timedOut) return settleError(undefined, true);
          settleError(failure?.code ?? err.code ?? "EPROXY", false);
        },
      );
      proxyReq = captured as ClientRequest | undefined;
      captured = undefined;
      if (!proxyReq) {
        settleError("EPROXY", false);
        return;
      }
      const pr = proxyReq;
      pr.on("socket", (socket: Socket) => {
        if (socket.connecting && !settled) {
          connectTimer = setTimeout(() => {
            failure = { code: "ECONNECT_TIMEOUT" };
            pr.destroy();
            settleError("ECONNECT_TIMEOUT", false);
          }, opts.connectTimeoutMs);
          socket.once("connect", () => {
            if (connectTimer) clearTimeout(connectTimer);
          });
        }
      });
      pr.once("response", (msg: IncomingMessage) => {
        // A listener must exist before the stream can fail, or the error would be unhandled.
        msg.on("error", () => {});
        const status = msg.statusCode ?? 502;
        if (settled) {
          msg.resume();
          return;
        }
        const ra = msg.headers["retry-after"];
        settle({
          outcome: classify(
            {
              status,
              durationMs: clock.now() - started,
              retryAfter: ra,
              wallNow: clock.wallNow(),
            },
            { isFailureStatus: opts.isFailureStatus },
          ),
          response: new UpstreamResponse(status, msg, pr),
        });
      });
      pr.once("close", () => {
        if (!settled) settleError(failure?.code ?? "ECONNRESET", failure?.timedOut ?? false);
      });
    });
  }

  close(): void {
    for (const ep of this.endpoints.values()) ep.agent.destroy();
    this.endpoints.clear();
    this.proxy.close();
  }
}
