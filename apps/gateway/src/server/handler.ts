/**
 * The request path: hardening → route → mode gate → cache → fault injection → body →
 * the core pipeline (rate limit, deadline, retry, breaker, bulkhead, per-try timeout) with
 * http-proxy doing each attempt → response, fallback or problem+json.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import {
  LiteAbortController,
  failureStatusMatcher,
  modeDecision,
  type Clock,
  type Config,
  type ErrorCode,
  type EventBus,
  type RouteConfig,
} from "@rg/core";
import type { Logger } from "pino";
import type { CacheCollector } from "../cache/response-cache";
import {
  ResponseCache,
  entryHeaders,
  type CacheEntry,
  type CacheMiss,
  type CacheRequest,
} from "../cache/response-cache";
import { sendProblem, retryAfterSeconds } from "../http/problem";
import {
  cutOutcome,
  type BodyEnd,
  type HttpProxyAdapter,
  type UpstreamResponse,
} from "../proxy/http-proxy-adapter";
import { bodySource, readRequestBody, replayable, type RequestBody } from "../request/body";
import {
  checkFraming,
  checkTarget,
  consumerOf,
  frameUpstreamBody,
  hostOf,
  prepareUpstreamHeaders,
  requestIdOf,
} from "../request/headers";
import type { RouteEntry, RouteTable } from "../routing/route-table";
import type { GatewayMetrics } from "../admin/metrics";
import type { RuntimePort, PipelineResultOf, RateLimitDecisionLike } from "./runtime-port";
import { isIdempotentMethod, rateLimitHeaders } from "./runtime-port";
import { continueIfExpected } from "./traffic-server";

type PipelineResponse = Extract<PipelineResultOf<UpstreamResponse>, { type: "response" }>;
/** The client went away or sent too much: nothing about the upstream. */
const CLIENT_GONE: BodyEnd = { by: "client" };

/** Everything that changes together on a config swap; read once per request. */
export interface ActiveConfig {
  config: Config;
  revision: number;
  routes: RouteTable;
  /** Per route: failure-status predicate, built once. */
  failureMatchers: Map<string, (status: number) => boolean>;
}

export function activeConfig(config: Config, revision: number, routes: RouteTable): ActiveConfig {
  const failureMatchers = new Map<string, (status: number) => boolean>();
  for (const [id, r] of Object.entries(config.routes)) {
    failureMatchers.set(id, failureStatusMatcher(r.failureStatuses));
  }
  return { config, revision, routes, failureMatchers };
}

export interface HandlerDeps {
  active(): ActiveConfig;
  runtime: RuntimePort;
  adapter: HttpProxyAdapter;
  cache: ResponseCache;
  metrics: GatewayMetrics;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  random(): number;
}

/**
 * The requests pipelined on a connection behind the one being answered, each waiting for
 * the one before to close: undefined when the connection is idle, null when one request is
 * being answered and none waits (the common case, without an allocation).
 */
const kWaiting = Symbol("rg.waiting");
type PipelinedSocket = Socket & { [kWaiting]?: (() => void)[] | null };

/**
 * Answer a request whose framing or request line cannot be trusted, and close the
 * connection: nothing after it on the connection can be read reliably.
 */
function refuseAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  code: ErrorCode,
  requestId: string,
  detail: string,
): void {
  res.shouldKeepAlive = false;
  sendProblem(res, code, { requestId, detail });
  req.socket.destroySoon?.();
}

/** Retry-After for read-only refusals: the mode is an operator decision of unknown length. */
export const READ_ONLY_RETRY_AFTER_MS = 30_000;
export const DEGRADED_RETRY_AFTER_MS = 10_000;

type StaticFallback = NonNullable<NonNullable<RouteConfig["fallback"]>["static"]>;

/**
 * The header fields of a static fallback answer (a flat list, without Content-Length):
 * the configured ones, the request id, `X-Degraded` and `extra`.
 */
export function staticFallbackFields(
  st: StaticFallback,
  requestId: string,
  extra: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const k in st.headers) out.push(k, st.headers[k]!);
  out.push("x-request-id", requestId, "x-degraded", "true", ...extra);
  return out;
}

/**
 * The problem for a rejected request. A failure Node's HTTP parser reported (an `HPE_`
 * code) means the upstream answered something unusable, not that it was unreachable.
 */
export function rejectionCode(
  result: Extract<PipelineResultOf<unknown>, { type: "rejected" }>,
): ErrorCode {
  const errCode = result.lastOutcome?.errorCode;
  return result.code === "RG_UPSTREAM_UNAVAILABLE" && errCode?.startsWith("HPE_") === true
    ? "RG_BAD_UPSTREAM_RESPONSE"
    : result.code;
}

/**
 * The RateLimit fields as a flat list with lower-case names (so they replace an upstream's
 * fields of the same name), or undefined when the route's limiter states no policy.
 */
export function rateLimitFields(d: RateLimitDecisionLike): string[] | undefined {
  const h = rateLimitHeaders(d);
  let out: string[] | undefined;
  for (const k in h) (out ??= []).push(k.toLowerCase(), h[k]!);
  return out;
}

export class RequestHandler {
  inFlight = 0;
  private readonly lastFaultEvent = new Map<string, number>();

  constructor(private readonly d: HandlerDeps) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    // Node's AbortController costs more to create than the whole pipeline; this one is cheap.
    const clientGone = new LiteAbortController();
    const socket = req.socket as PipelinedSocket;
    // A response closes once: a plain listener does without once's wrapper.
    res.on("close", () => {
      this.inFlight--;
      if (!res.writableFinished) clientGone.abort();
      // The next request pipelined on this connection may start now.
      const waiting = socket[kWaiting];
      if (waiting) {
        const next = waiting.shift()!;
        if (waiting.length === 0) socket[kWaiting] = null;
        next();
      } else socket[kWaiting] = undefined;
    });
    const start = () => {
      if (res.destroyed) return;
      this.run(req, res, clientGone.signal).catch((err: unknown) => {
        this.d.logger.error({ err }, "request failed unexpectedly");
        if (!res.headersSent) sendProblem(res, "RG_UPSTREAM_UNAVAILABLE");
        else res.destroy();
      });
    };
    // Requests pipelined on one connection are answered in order anyway (RFC 9112 §9.3.2),
    // so they are worked through one at a time, as nginx and Envoy do: one client's burst
    // cannot take a whole bulkhead at once.
    this.inTurn(socket, start);
  };

  /**
   * Run `fn` once the answers in flight on this connection are done, at once when there are
   * none; the connection is busy from then on, until a response's close hands it to the next
   * in line. Requests take their turn this way, and so does an upgrade (pipelined behind
   * requests, it must not write before their answers; nothing follows it on the connection).
   */
  inTurn(socket: Socket, fn: () => void): void {
    const s = socket as PipelinedSocket;
    const waiting = s[kWaiting];
    if (waiting === undefined) {
      s[kWaiting] = null;
      fn();
    } else if (waiting === null) s[kWaiting] = [fn];
    else waiting.push(fn);
  }

  private async run(
    req: IncomingMessage,
    res: ServerResponse,
    clientGone: AbortSignal,
  ): Promise<void> {
    const d = this.d;
    const started = d.clock.now();
    const requestId = requestIdOf(req);

    const framing = checkFraming(req);
    // Read before the hop-by-hop fields go: a Connection header may name Content-Length.
    const declaredLength = req.headers["content-length"];
    if (framing !== "ok") {
      refuseAndClose(req, res, "RG_BAD_REQUEST", requestId, `refused request framing: ${framing}`);
      return;
    }
    const target = checkTarget(req);
    if (!target.ok) {
      refuseAndClose(req, res, target.code, requestId, target.detail);
      return;
    }

    const active = d.active();
    const method = req.method ?? "GET";
    const url = target.path;
    const host = hostOf(req);
    const match = active.routes.match(method, host, url);
    if (!match) {
      sendProblem(res, "RG_ROUTE_NOT_FOUND", { requestId });
      return;
    }
    const route = match.route;
    const rc = route.config;
    const cfg = active.config;

    const decision = modeDecision({
      method,
      gatewayMode: cfg.gateway.mode,
      routeMode: rc.mode,
      criticality: rc.criticality,
    });
    if (decision === "reject_read_only") {
      this.answered(route, started, "RG_READ_ONLY");
      sendProblem(res, "RG_READ_ONLY", { requestId, retryAfterMs: READ_ONLY_RETRY_AFTER_MS });
      return;
    }

    const cacheOn = rc.cache?.enabled === true && method === "GET";
    const cacheKey = cacheOn ? ResponseCache.key(route.id, host, match.upstreamPath) : "";
    let stale: CacheEntry | undefined;
    // The request as the client sent it: an answer's Vary is matched against these fields
    // later, not against the ones the gateway adds for the upstream (X-Forwarded-*, …).
    let cacheReq: CacheRequest | undefined;
    let cacheMiss: CacheMiss | undefined;
    if (cacheOn) {
      cacheReq = { method, url: match.upstreamPath, headers: { ...req.headers } };
      const found = d.cache.lookup(cacheKey, cacheReq, rc.cache!.maxStaleMs);
      cacheMiss = found.miss;
      if (found.fresh && decision === "pass") {
        d.metrics.cacheUse(route.id, "hit");
        this.record(route, started, "cache_hit");
        this.serveEntry(res, found.fresh, requestId, ["cache-status", "gateway; hit"]);
        return;
      }
      stale = found.fresh ?? found.stale;
    }

    if (decision === "serve_degraded") {
      if (stale) {
        d.metrics.cacheUse(route.id, "stale");
        this.fallbackServed(route, "stale_cache", "degraded", started);
        this.serveEntry(res, stale, requestId, [
          "cache-status",
          "gateway; hit; detail=degraded",
          "x-degraded",
          "true",
        ]);
        return;
      }
      const st = rc.fallback?.static;
      if (st) {
        this.fallbackServed(route, "static", "degraded", started);
        this.serveStatic(res, st, requestId);
        return;
      }
      this.answered(route, started, "RG_DEGRADED");
      sendProblem(res, "RG_DEGRADED", { requestId, retryAfterMs: DEGRADED_RETRY_AFTER_MS });
      return;
    }

    const fault = this.drawFault(route);
    if (fault !== undefined) {
      if (fault.abortStatus !== undefined) {
        this.answered(route, started, "RG_FAULT_INJECTED");
        sendProblem(res, "RG_FAULT_INJECTED", { requestId, status: fault.abortStatus });
        return;
      }
      await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) return;
    }

    const pipeline = d.runtime.pipeline(route.id);
    if (!pipeline) {
      sendProblem(res, "RG_ROUTE_NOT_FOUND", { requestId });
      return;
    }

    const idempotencyKey = req.headers["idempotency-key"];
    const wantReplay = isIdempotentMethod(method) || idempotencyKey !== undefined;
    const limits = cfg.gateway.limits;
    const read = readRequestBody(req, {
      wantReplay,
      bufferBytes: limits.retryBodyBytes,
      maxBytes: limits.maxBodyBytes,
    });
    // A body declared over the cap is refused before the client is asked to send it.
    if (read !== "too_large") continueIfExpected(req, res);
    const b = read instanceof Promise ? await read : read;
    if (b === "aborted") return;
    if (b === "too_large") {
      res.shouldKeepAlive = false;
      this.answered(route, started, "RG_BODY_TOO_LARGE");
      sendProblem(res, "RG_BODY_TOO_LARGE", { requestId });
      return;
    }
    const body: RequestBody = b;

    // Before X-Forwarded-For gets the connection's address appended.
    const consumer = consumerOf(req, cfg.gateway.consumers);
    prepareUpstreamHeaders(req, requestId, cfg.gateway.forwarded);
    if (!frameUpstreamBody(req, body, declaredLength)) {
      res.shouldKeepAlive = false;
      this.answered(route, started, "RG_LENGTH_REQUIRED");
      sendProblem(res, "RG_LENGTH_REQUIRED", {
        requestId,
        detail: `a ${method} body larger than ${limits.retryBodyBytes} bytes needs a Content-Length`,
      });
      return;
    }

    const isFailureStatus = active.failureMatchers.get(route.id)!;
    const connectTimeoutMs = rc.timeouts.connectMs;
    const deadlineHeader = cfg.gateway.deadlineHeader;
    let bodyTooLarge = false;
    const onBodyTooLarge = () => {
      bodyTooLarge = true;
    };

    const result: PipelineResultOf<UpstreamResponse> = await pipeline.execute<UpstreamResponse>(
      {
        method,
        consumerKey: consumer.key,
        tier: consumer.tier,
        retryable: wantReplay && replayable(body),
        hasStale: stale !== undefined,
        signal: clientGone,
        // A success counts for its breaker, endpoint and SLIs once its body has ended: cut off
        // by the upstream it is a failure (settle()).
        deferSuccess: true,
        deferSli: true,
      },
      (a) => {
        // Read by http-proxy when it copies the request's headers for this attempt.
        req.headers[deadlineHeader] = String(Math.max(0, Math.floor(a.deadlineRemainingMs)));
        return d.adapter.attempt(req, res, a.upstream, a.endpoint, {
          path: match.upstreamPath,
          body: body.kind === "none" ? undefined : bodySource(body, onBodyTooLarge),
          signal: a.signal,
          connectTimeoutMs,
          isFailureStatus,
          clientFault: body.kind === "none" ? undefined : () => bodyTooLarge,
        });
      },
      discardResponse,
    );

    if (res.destroyed || clientGone.aborted) {
      if (result.type === "response") {
        // A client that left says nothing about the upstream.
        this.settle(route.id, result, CLIENT_GONE);
        result.response.discard();
      }
      return;
    }
    if (bodyTooLarge) {
      // The attempt was cut by the body cap and may carry no response at all.
      if (result.type === "response") {
        this.settle(route.id, result, CLIENT_GONE);
        (result.response as UpstreamResponse | undefined)?.discard();
      }
      res.shouldKeepAlive = false;
      this.answered(route, started, "RG_BODY_TOO_LARGE");
      sendProblem(res, "RG_BODY_TOO_LARGE", { requestId });
      return;
    }

    const rlHeaders = result.rateLimit ? rateLimitFields(result.rateLimit) : undefined;

    if (result.type === "response") {
      const resp = result.response;
      const streamLimits = {
        upstreamIdleMs: rc.timeouts.perTryMs,
        clientStallMs: cfg.gateway.limits.sendTimeoutMs,
      };
      const extra: string[] = ["x-request-id", requestId];
      if (rlHeaders) for (const h of rlHeaders) extra.push(h);
      let collector: CacheCollector | undefined;
      if (cacheReq) {
        extra.push("cache-status", `gateway; fwd=${cacheMiss ?? "miss"}`);
        if (!result.fromFallback && !result.outcome.failure) {
          collector = d.cache.begin(
            cacheKey,
            cacheReq,
            resp.status,
            resp.headers,
            () => resp.storableRawHeaders(),
            rc.cache!.maxEntryBytes,
          );
        }
      }
      if (result.fromFallback) extra.push("x-degraded", "true");
      d.metrics.request(
        route.id,
        result.upstream,
        result.outcome.kind,
        (d.clock.now() - started) / 1000,
      );
      const c = collector;
      resp.send(
        res,
        extra,
        streamLimits,
        c === undefined ? undefined : (chunk) => c.push(chunk),
        (end) => {
          c?.end(end.by === "whole");
          this.settle(route.id, result, end);
        },
      );
      return;
    }

    if (result.type === "fallback") {
      d.metrics.request(route.id, rc.upstream, "fallback", (d.clock.now() - started) / 1000);
      if (result.source === "stale_cache" && stale) {
        d.metrics.cacheUse(route.id, "stale");
        const fwdStatus = result.lastOutcome?.status;
        this.serveEntry(res, stale, requestId, [
          "cache-status",
          `gateway; fwd=stale${fwdStatus ? `; fwd-status=${fwdStatus}` : ""}; detail=stale-if-error`,
          "x-degraded",
          "true",
          ...(rlHeaders ?? []),
        ]);
        return;
      }
      const st = result.staticResponse ?? rc.fallback?.static;
      if (st) {
        this.serveStatic(res, st, requestId, rlHeaders);
        return;
      }
      this.answered(route, started, "RG_UPSTREAM_UNAVAILABLE");
      sendProblem(res, "RG_UPSTREAM_UNAVAILABLE", { requestId });
      return;
    }

    // Rejected: the gateway answers.
    if (result.clientAborted) return;
    const code = rejectionCode(result);
    this.answered(route, started, code);
    sendProblem(res, code, {
      requestId,
      ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
      ...(result.rateLimit ? { headers: rateLimitHeaders(result.rateLimit) } : {}),
      ...(result.lastOutcome?.errorCode ? { extra: { cause: result.lastOutcome.errorCode } } : {}),
    });
  }

  /**
   * What the pipeline left to this caller (deferSuccess, deferSli): a successful attempt
   * counts on its breaker, its endpoint's outlier detection and the SLIs once its body has
   * ended. Whole, it passes; cut off by the upstream (a reset, a stall past the per-try
   * timeout, headers that cannot be forwarded) it fails, so an upstream that truncates its
   * answers trips them and spends the error budget like one that fails them. A client that
   * left or stopped reading frees the breaker's permit and leaves the endpoint alone; the SLIs
   * count the upstream's answer as it began, a success. Other outcomes were counted by the
   * pipeline at once.
   */
  private settle(routeId: string, result: PipelineResponse, end: BodyEnd): void {
    const permit = result.permit;
    if (permit === undefined) return;
    let outcome = result.outcome;
    if (end.by === "client") permit.release();
    else {
      if (end.by === "upstream") outcome = cutOutcome(end, outcome.durationMs);
      permit.record(outcome);
      this.d.runtime.upstream(result.upstream)?.endpoints.record(result.endpoint, outcome);
    }
    const sli = result.sli;
    if (sli === undefined) return;
    try {
      this.d.runtime.sli.record(routeId, result.upstream, {
        outcome: outcome.kind,
        latencyMs: sli.latencyMs,
        retried: sli.retried,
        fallback: sli.fallback,
      });
    } catch {
      // SLIs are best effort outside the pipeline.
    }
  }

  private serveEntry(res: ServerResponse, e: CacheEntry, requestId: string, extra: string[]): void {
    const headers = entryHeaders(e, ["x-request-id", requestId, ...extra]);
    res.writeHead(e.status, headers);
    res.end(e.body);
  }

  private serveStatic(
    res: ServerResponse,
    st: StaticFallback,
    requestId: string,
    extra?: string[],
  ): void {
    const headers = staticFallbackFields(st, requestId, extra);
    headers.push("content-length", String(Buffer.byteLength(st.body)));
    res.writeHead(st.status, headers);
    res.end(st.body);
  }

  /**
   * The route's fault injection for one request: an abort with a status, an added delay
   * (bounded by the route's total timeout), or nothing.
   */
  drawFault(
    route: RouteEntry,
  ): { abortStatus: number } | { abortStatus?: never; delayMs: number } | undefined {
    const fi = route.config.faultInjection;
    const d = this.d;
    if (fi.abortPercent > 0 && d.random() * 100 < fi.abortPercent) {
      this.faultEvent(route, "abort", fi.abortStatus);
      return { abortStatus: fi.abortStatus };
    }
    if (fi.delayPercent > 0 && fi.delayMs > 0 && d.random() * 100 < fi.delayPercent) {
      this.faultEvent(route, "delay", fi.delayMs);
      return { delayMs: Math.min(fi.delayMs, route.config.timeouts.totalMs) };
    }
    return undefined;
  }

  /** A request the gateway answered itself (a problem), in the metrics and the SLIs. */
  answered(route: RouteEntry, started: number, code: ErrorCode): void {
    this.d.metrics.rejected(route.id, code);
    this.record(route, started, "rejected");
  }

  private record(
    route: RouteEntry,
    started: number,
    result: "rejected" | "cache_hit" | "fallback",
  ): void {
    const ms = this.d.clock.now() - started;
    this.d.metrics.request(route.id, route.config.upstream, result, ms / 1000);
    try {
      this.d.runtime.sli.record(route.id, route.config.upstream, {
        outcome: result === "cache_hit" ? "success" : undefined,
        latencyMs: ms,
        fallback: result === "fallback",
      });
    } catch {
      // SLIs are best effort outside the pipeline.
    }
  }

  private fallbackServed(
    route: RouteEntry,
    source: "stale_cache" | "static",
    after: string,
    started: number,
  ): void {
    this.record(route, started, "fallback");
    this.d.bus.emitLazy(() => ({
      type: "fallback.served",
      at: this.d.clock.wallNow(),
      route: route.id,
      upstream: route.config.upstream,
      source,
      after,
    }));
  }

  /** At most one fault.injected event per route and kind per second. */
  private faultEvent(route: RouteEntry, kind: "delay" | "abort", value: number): void {
    const key = `${route.id}:${kind}`;
    const now = this.d.clock.now();
    const last = this.lastFaultEvent.get(key);
    if (last !== undefined && now - last < 1000) return;
    this.lastFaultEvent.set(key, now);
    this.d.bus.emit({
      type: "fault.injected",
      at: this.d.clock.wallNow(),
      route: route.id,
      kind,
      value,
    });
  }
}

const discardResponse = (r: UpstreamResponse) => r.discard();

export { retryAfterSeconds };
export type { RateLimitDecisionLike };
