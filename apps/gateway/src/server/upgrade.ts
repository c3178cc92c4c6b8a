/**
 * WebSocket upgrades: route → checks → mode gate → tunnel cap → fault injection → the core
 * pipeline for the handshake (rate limit, deadline, retries, breaker, bulkhead, per-try
 * timeout) → the tunnel. The handshake holds a bulkhead permit like any request; the open
 * tunnel does not (it may last hours) and is bounded by the route's `websocket.maxConnections`
 * instead, and per client by `websocket.maxConnectionsPerClient`. Every refusal is a
 * problem+json answer on the raw socket, which then closes.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import {
  LiteAbortController,
  modeDecision,
  type BreakerPermit,
  type CancelTimer,
  type ErrorCode,
  type Outcome,
  type RouteConfig,
} from "@rg/core";
import { endRaw, rawHead, sendRawProblem, type ProblemOptions } from "../http/problem";
import type { UpgradeResponse } from "../proxy/http-proxy-adapter";
import {
  CLOSE_GOING_AWAY,
  CLOSE_TRY_AGAIN_LATER,
  joinTunnel,
  type Tunnel,
  type TunnelEnd,
} from "../proxy/tunnel";
import {
  checkTarget,
  consumerOf,
  filterRawResponseHeaders,
  type Consumer,
  hostOf,
  prepareUpstreamHeaders,
  requestIdOf,
} from "../request/headers";
import type { RouteEntry } from "../routing/route-table";
import {
  DEGRADED_RETRY_AFTER_MS,
  READ_ONLY_RETRY_AFTER_MS,
  rateLimitFields,
  rejectionCode,
  staticFallbackFields,
  type ActiveConfig,
  type HandlerDeps,
  type RequestHandler,
} from "./handler";
import { rateLimitHeaders } from "./runtime-port";

/** A refused handshake's answer is passed on whole; one this large is not a refusal page. */
const MAX_REFUSAL_BYTES = 64 * 1024;

const noop = () => {};

/** Bytes a client may send behind its handshake before the gateway stops reading them. */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * The client's side while its handshake is in progress. Node hands the socket over paused,
 * and a paused socket says nothing when its client goes away; so it is read, and what
 * arrives is kept (up to MAX_EARLY_BYTES, then reading pauses) for the upstream once the
 * tunnel opens. A client that closes or half-closes has given up on the handshake.
 */
class EarlyBytes {
  private readonly chunks: Buffer[];
  private size: number;
  gone = false;
  private onGone: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    head: Buffer,
  ) {
    this.chunks = head.length > 0 ? [head] : [];
    this.size = head.length;
    socket.on("data", this.data);
    socket.once("end", this.left);
    socket.once("close", this.left);
  }

  private readonly data = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= MAX_EARLY_BYTES) this.socket.pause();
  };

  private readonly left = (): void => {
    this.gone = true;
    this.onGone?.();
  };

  /** Run `fn` when the client goes away (at once if it has). */
  whenGone(fn: (() => void) | undefined): void {
    this.onGone = fn;
    if (fn && this.gone) fn();
  }

  /** Stop watching and hand over what arrived; the socket is left paused for the tunnel. */
  take(): Buffer {
    this.socket.removeListener("data", this.data);
    this.socket.removeListener("end", this.left);
    this.socket.removeListener("close", this.left);
    this.socket.pause();
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

/**
 * Why a tunnel cannot be opened (or kept) on this route under the current modes: a tunnel
 * can carry writes, so it is gated as an unsafe method is. Read-only mode refuses it, and so
 * does degraded mode on a non-critical route (which never calls its upstream then).
 */
export function tunnelRefusal(
  config: ActiveConfig["config"],
  rc: RouteConfig,
): "RG_READ_ONLY" | "RG_DEGRADED" | "RG_UPGRADE_NOT_ALLOWED" | undefined {
  if (!rc.websocket.enabled) return "RG_UPGRADE_NOT_ALLOWED";
  const decision = modeDecision({
    method: "POST",
    gatewayMode: config.gateway.mode,
    routeMode: rc.mode,
    criticality: rc.criticality,
  });
  if (decision === "reject_read_only") return "RG_READ_ONLY";
  if (decision === "serve_degraded") return "RG_DEGRADED";
  return undefined;
}

/** A route's config by id, own keys only (a route may be named `toString`). */
function routeConfig(active: ActiveConfig, id: string): RouteConfig | undefined {
  return Object.hasOwn(active.config.routes, id) ? active.config.routes[id] : undefined;
}

interface OpenTunnel {
  route: string;
  /** The client's key in perClient. */
  client: string;
  upstream: string;
  endpoint: string;
  requestId: string;
  openedAt: number;
  tunnel: Tunnel;
  /**
   * The handshake's breaker permit until the tunnel has lasted `websocket.healthyAfterMs`
   * (or ended): a tunnel its upstream resets at once is a failed call, not a 101's success.
   */
  verdict: { permit: BreakerPermit; handshake: Outcome; cancel: CancelTimer } | undefined;
}

const RETRY_AFTER_MS: Partial<Record<ErrorCode, number>> = {
  RG_READ_ONLY: READ_ONLY_RETRY_AFTER_MS,
  RG_DEGRADED: DEGRADED_RETRY_AFTER_MS,
  RG_SHUTTING_DOWN: 1000,
  RG_BULKHEAD_FULL: 1000,
};

/** The Close frame for a tunnel a mode change ends: the condition is temporary. */
const CLOSE_FOR: Partial<Record<ErrorCode, [number, string]>> = {
  RG_READ_ONLY: [CLOSE_TRY_AGAIN_LATER, "read-only mode"],
  RG_DEGRADED: [CLOSE_TRY_AGAIN_LATER, "degraded mode"],
};

/** Retry-After for a client at its tunnel cap: its slots free only as its own tunnels end. */
const CLIENT_CAP_RETRY_AFTER_MS = 5000;

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

export class UpgradeHandler {
  /** Open tunnels and handshakes in progress, by route. */
  private readonly perRoute = new Map<string, number>();
  /** The same, by route and client (consumer key, or address without one). */
  private readonly perClient = new Map<string, number>();
  private readonly open = new Set<OpenTunnel>();
  private draining = false;
  private closedAll = false;
  /** Tunnels closeAll() closed whose two sockets have not both closed yet. */
  private readonly closing = new Set<OpenTunnel>();
  private whenAllClosed: (() => void)[] = [];
  /** Handshakes in progress: the shutdown drain waits for them as for requests. */
  handshaking = 0;

  constructor(
    private readonly d: HandlerDeps,
    private readonly requests: RequestHandler,
  ) {}

  /** Open tunnels. */
  openCount(): number {
    return this.open.size;
  }

  /** Open tunnels by route (handshakes in progress not counted). */
  tunnels(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.open) out.set(t.route, (out.get(t.route) ?? 0) + 1);
    return out;
  }

  /**
   * After a config change: close the tunnels whose route is gone, or no longer allows them;
   * the others take the route's idle timeout as it is now.
   */
  reconcile(active: ActiveConfig): void {
    for (const t of [...this.open]) {
      const rc = routeConfig(active, t.route);
      const refusal = rc && tunnelRefusal(active.config, rc);
      if (rc !== undefined && refusal === undefined) {
        t.tunnel.setIdleTimeout(rc.websocket.idleTimeoutMs);
        continue;
      }
      this.open.delete(t);
      const [code, reason] = (refusal && CLOSE_FOR[refusal]) ?? [
        CLOSE_GOING_AWAY,
        "route no longer accepts WebSockets",
      ];
      t.tunnel.close("config", code, reason);
    }
  }

  /** Shutdown: refuse new handshakes from now on. */
  drain(): void {
    this.draining = true;
  }

  /**
   * Shutdown: close every open tunnel. Resolves once each has ended on both sides: its Close
   * frames sent after any frame in progress (the tunnel grants that 2 s), so an exit right
   * after it loses nothing either side was still owed.
   */
  closeAll(): Promise<void> {
    this.closedAll = true;
    for (const t of this.open) {
      this.closing.add(t);
      t.tunnel.close("shutdown", CLOSE_GOING_AWAY, "gateway shutting down");
    }
    this.open.clear();
    if (this.closing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenAllClosed.push(resolve));
  }

  readonly handle = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // Node stops listening for this socket's errors when it hands it over.
    socket.on("error", noop);
    const early = new EarlyBytes(socket, head);
    // Pipelined behind requests still being answered: their answers go first.
    this.requests.inTurn(socket, () => {
      if (socket.destroyed || early.gone) {
        socket.destroy();
        return;
      }
      this.run(req, socket, early).catch((err: unknown) => {
        this.d.logger.error({ err }, "upgrade failed unexpectedly");
        sendRawProblem(socket, "RG_UPSTREAM_UNAVAILABLE");
      });
    });
  };

  private refuse(socket: Socket, code: ErrorCode, opts: ProblemOptions): void {
    const retryAfterMs = RETRY_AFTER_MS[code];
    sendRawProblem(socket, code, retryAfterMs === undefined ? opts : { retryAfterMs, ...opts });
  }

  private async run(req: IncomingMessage, socket: Socket, early: EarlyBytes): Promise<void> {
    const d = this.d;
    const started = d.clock.now();
    const requestId = requestIdOf(req);
    if (this.draining) {
      this.refuse(socket, "RG_SHUTTING_DOWN", { requestId });
      return;
    }
    const protocol = req.headers.upgrade ?? "";
    if (protocol.trim().toLowerCase() !== "websocket") {
      this.refuse(socket, "RG_UPGRADE_NOT_ALLOWED", {
        requestId,
        detail: `only WebSocket upgrades are proxied, not Upgrade: ${protocol.slice(0, 60)}`,
      });
      return;
    }
    if (req.method !== "GET") {
      this.refuse(socket, "RG_BAD_REQUEST", {
        requestId,
        detail: `a WebSocket handshake is a GET, not ${req.method}`,
      });
      return;
    }
    const cl = req.headers["content-length"];
    if (req.headers["transfer-encoding"] !== undefined || (cl !== undefined && cl !== "0")) {
      // Its bytes would reach the upstream as the first frames, or as another request.
      this.refuse(socket, "RG_BAD_REQUEST", {
        requestId,
        detail: "a WebSocket handshake cannot carry a body",
      });
      return;
    }
    const target = checkTarget(req);
    if (!target.ok) {
      this.refuse(socket, target.code, { requestId, detail: target.detail });
      return;
    }

    const active = d.active();
    const cfg = active.config;
    const match = active.routes.match("GET", hostOf(req), target.path);
    if (!match) {
      this.refuse(socket, "RG_ROUTE_NOT_FOUND", { requestId });
      return;
    }
    const route = match.route;
    const rc = route.config;
    const refusal = tunnelRefusal(cfg, rc);
    if (refusal !== undefined) {
      this.requests.answered(route, started, refusal);
      this.refuse(socket, refusal, {
        requestId,
        ...(refusal === "RG_UPGRADE_NOT_ALLOWED"
          ? {
              detail: `route ${route.id} does not accept WebSocket upgrades (routes.${route.id}.websocket.enabled)`,
            }
          : {}),
      });
      return;
    }
    const max = rc.websocket.maxConnections;
    const taken = this.perRoute.get(route.id) ?? 0;
    if (taken >= max) {
      this.requests.answered(route, started, "RG_BULKHEAD_FULL");
      this.refuse(socket, "RG_BULKHEAD_FULL", {
        requestId,
        detail: `route ${route.id} has ${taken} WebSocket connections (websocket.maxConnections ${max})`,
      });
      return;
    }
    const consumer = consumerOf(req, cfg.gateway.consumers);
    const client = `${route.id}\n${consumer.key}`;
    const perClientMax = rc.websocket.maxConnectionsPerClient;
    const held = this.perClient.get(client) ?? 0;
    if (perClientMax !== undefined && held >= perClientMax) {
      this.requests.answered(route, started, "RG_RATE_LIMITED");
      this.refuse(socket, "RG_RATE_LIMITED", {
        requestId,
        retryAfterMs: CLIENT_CAP_RETRY_AFTER_MS,
        detail: `this client holds ${held} WebSocket connections on route ${route.id} (websocket.maxConnectionsPerClient ${perClientMax})`,
      });
      return;
    }
    // The slots are held from here: by the handshake, then by the tunnel.
    this.perRoute.set(route.id, taken + 1);
    this.perClient.set(client, held + 1);
    this.handshaking++;
    let tunnelled = false;
    try {
      tunnelled = await this.handshake(req, socket, early, active, route, match.upstreamPath, {
        started,
        requestId,
        consumer,
        client,
      });
    } finally {
      this.handshaking--;
      if (!tunnelled) this.release(route.id, client);
    }
  }

  private release(route: string, client: string): void {
    decrement(this.perRoute, route);
    decrement(this.perClient, client);
  }

  /** True when the tunnel opened. */
  private async handshake(
    req: IncomingMessage,
    socket: Socket,
    early: EarlyBytes,
    active: ActiveConfig,
    route: RouteEntry,
    path: string,
    {
      started,
      requestId,
      consumer,
      client,
    }: { started: number; requestId: string; consumer: Consumer; client: string },
  ): Promise<boolean> {
    const d = this.d;
    const rc = route.config;
    const cfg = active.config;

    const fault = this.requests.drawFault(route);
    if (fault !== undefined) {
      if (fault.abortStatus !== undefined) {
        this.requests.answered(route, started, "RG_FAULT_INJECTED");
        sendRawProblem(socket, "RG_FAULT_INJECTED", { requestId, status: fault.abortStatus });
        return false;
      }
      await new Promise((r) => setTimeout(r, fault.delayMs));
      if (socket.destroyed || early.gone) return false;
    }
    const pipeline = d.runtime.pipeline(route.id);
    if (!pipeline) {
      this.refuse(socket, "RG_ROUTE_NOT_FOUND", { requestId });
      return false;
    }

    const clientGone = new LiteAbortController();
    early.whenGone(() => clientGone.abort());
    const upgrade = req.headers.upgrade!;
    prepareUpstreamHeaders(req, requestId, cfg.gateway.forwarded);
    const headers: Record<string, string | string[] | undefined> = {
      ...req.headers,
      connection: "upgrade",
      upgrade,
    };
    const isFailureStatus = active.failureMatchers.get(route.id)!;
    const deadlineHeader = cfg.gateway.deadlineHeader;
    const result = await pipeline.execute<UpgradeResponse>(
      {
        method: "GET",
        consumerKey: consumer.key,
        tier: consumer.tier,
        retryable: true,
        hasStale: false,
        signal: clientGone.signal,
        // A 101 says little of the upstream: what its tunnel does next is what counts (see
        // settleBreaker() and ended()).
        deferSuccess: true,
      },
      (a) =>
        d.adapter.upgrade(a.upstream, a.endpoint, {
          path,
          headers: {
            ...headers,
            [deadlineHeader]: String(Math.max(0, Math.floor(a.deadlineRemainingMs))),
          },
          signal: a.signal,
          connectTimeoutMs: rc.timeouts.connectMs,
          isFailureStatus,
        }),
      (r) => r.discard(),
    );
    early.whenGone(undefined);

    if (socket.destroyed || clientGone.signal.aborted) {
      if (result.type === "response") {
        // A client that left says nothing about the upstream.
        result.permit?.release();
        result.response.discard();
      }
      socket.destroy();
      return false;
    }
    const rlFields = (result.rateLimit && rateLimitFields(result.rateLimit)) ?? [];
    const seconds = () => (d.clock.now() - started) / 1000;

    if (result.type === "response") {
      const resp = result.response;
      d.metrics.request(route.id, result.upstream, result.outcome.kind, seconds());
      if (resp.tunnel === undefined) {
        // The upstream refused the handshake (or answered it as a plain request): the client
        // gets its answer.
        // What the pipeline left to this caller (deferSuccess): its outcome, as is.
        if (result.outcome.kind === "success") {
          result.permit?.record(result.outcome);
          this.recordEndpoint(result.upstream, result.endpoint, result.outcome);
        }
        // Its body within the per-try timeout, while the client still waits: an answer that
        // stalls, or never ends (a stream), must not hold the route's and the client's slots.
        const answer = resp.answer!;
        early.whenGone(() => answer.abort());
        const body = await answer.bytes(MAX_REFUSAL_BYTES, rc.timeouts.perTryMs);
        early.whenGone(undefined);
        if (socket.destroyed || early.gone) {
          socket.destroy();
          return false;
        }
        if (body === undefined) {
          sendRawProblem(socket, "RG_BAD_UPSTREAM_RESPONSE", {
            requestId,
            detail: `the upstream refused the handshake with a ${resp.status} that could not be read whole`,
          });
          return false;
        }
        // As for any answer: the gateway's fields replace the upstream's of the same name.
        const own = ["x-request-id", requestId, ...rlFields];
        if (result.fromFallback) own.push("x-degraded", "true");
        const fields = filterRawResponseHeaders(resp.message.rawHeaders, [
          ...own,
          "content-length",
          "",
        ]);
        fields.push(...own);
        endRaw(socket, resp.status, fields, body);
        return false;
      }
      const up = resp.tunnel;
      if (!socket.writable) {
        result.permit?.release();
        up.socket.destroy();
        return false;
      }
      // The config may have changed while the handshake was in progress: a tunnel that it no
      // longer allows (read-only, WebSockets off, the route gone) is refused now, before any
      // byte crosses it, as reconcile() closes the open ones.
      const now = d.active();
      if (now !== active) {
        const rcNow = routeConfig(now, route.id);
        const refusedNow =
          rcNow === undefined ? "RG_ROUTE_NOT_FOUND" : tunnelRefusal(now.config, rcNow);
        if (refusedNow !== undefined) {
          result.permit?.release();
          up.socket.destroy();
          this.requests.answered(route, started, refusedNow);
          this.refuse(socket, refusedNow, { requestId });
          return false;
        }
      }
      const fields = [
        "Connection",
        "Upgrade",
        "Upgrade",
        resp.message.headers.upgrade ?? upgrade,
        ...filterRawResponseHeaders(resp.message.rawHeaders),
        "X-Request-Id",
        requestId,
      ];
      if (result.fromFallback) fields.push("X-Degraded", "true");
      socket.write(`${rawHead(101, fields)}\r\n`, "latin1");
      const entry: OpenTunnel = {
        route: route.id,
        client,
        upstream: result.upstream,
        endpoint: result.endpoint,
        requestId,
        openedAt: d.clock.now(),
        tunnel: joinTunnel(
          socket,
          early.take(),
          up.socket,
          up.head,
          rc.websocket.idleTimeoutMs,
          (by, errorCode) => this.ended(entry, by, errorCode),
        ),
        verdict: undefined,
      };
      const permit = result.permit;
      const healthyAfterMs = rc.websocket.healthyAfterMs;
      if (permit !== undefined && healthyAfterMs > 0)
        entry.verdict = {
          permit,
          handshake: result.outcome,
          cancel: d.clock.setTimer(healthyAfterMs, () => this.settleBreaker(entry, "healthy")),
        };
      else permit?.record(result.outcome);
      this.open.add(entry);
      d.logger.debug({ route: route.id, requestId }, "websocket tunnel open");
      // Past the drain's end (its time limit ran out while this handshake was in progress).
      if (this.closedAll) void this.closeAll();
      return true;
    }

    if (result.type === "fallback") {
      d.metrics.request(route.id, rc.upstream, "fallback", seconds());
      const st = result.staticResponse ?? rc.fallback?.static;
      if (st) {
        endRaw(
          socket,
          st.status,
          staticFallbackFields(st, requestId, rlFields),
          Buffer.from(st.body),
        );
        return false;
      }
      this.requests.answered(route, started, "RG_UPSTREAM_UNAVAILABLE");
      sendRawProblem(socket, "RG_UPSTREAM_UNAVAILABLE", { requestId });
      return false;
    }

    if (result.clientAborted) return false;
    const code = rejectionCode(result);
    const errCode = result.lastOutcome?.errorCode;
    this.requests.answered(route, started, code);
    sendRawProblem(socket, code, {
      requestId,
      ...(result.rateLimit ? { headers: rateLimitHeaders(result.rateLimit) } : {}),
      ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
      ...(errCode ? { extra: { cause: errCode } } : {}),
    });
    return false;
  }

  /**
   * The handshake's verdict on the breaker, once: a success when the tunnel has lasted
   * `healthyAfterMs` or either side closed it sooner; a failure when the upstream's socket
   * failed sooner (the handshake's duration, so a tunnel's age never reads as a slow call);
   * nothing when the client's socket failed. So an upstream that resets every tunnel opens
   * its breaker as one that fails every request does, and a half-open probe that is reset
   * reopens it.
   */
  private settleBreaker(
    entry: OpenTunnel,
    by: TunnelEnd | "healthy",
    errorCode?: string | undefined,
  ): void {
    const v = entry.verdict;
    if (v === undefined) return;
    entry.verdict = undefined;
    v.cancel();
    if (by === "client_error") v.permit.release();
    else if (by === "upstream_error")
      v.permit.record({
        kind: "connect_error",
        errorCode,
        durationMs: v.handshake.durationMs,
        failure: true,
      });
    else v.permit.record(v.handshake);
  }

  /**
   * A tunnel's end feeds its endpoint's passive outlier detection, in place of the handshake's
   * 101: a failed upstream socket (reset, keep-alive timeout) or a connection the upstream
   * closed without a Close frame is a failure, so an endpoint that resets or drops its tunnels
   * is ejected after `consecutive5xx` of them like one that fails requests;
   * a close by either side, the idle timeout or the gateway passes. A client's failed socket
   * says nothing about the upstream. The breaker hears of the end only within
   * `healthyAfterMs` (settleBreaker); the SLIs count handshakes only.
   */
  private ended(entry: OpenTunnel, by: TunnelEnd, errorCode: string | undefined): void {
    this.open.delete(entry);
    if (this.closing.delete(entry) && this.closing.size === 0)
      for (const resolve of this.whenAllClosed.splice(0)) resolve();
    this.settleBreaker(entry, by, errorCode);
    const { route, upstream, endpoint, requestId } = entry;
    this.release(route, entry.client);
    this.d.metrics.tunnelClosed(route, by);
    const openMs = Math.round(this.d.clock.now() - entry.openedAt);
    const fields = { route, upstream, endpoint, requestId, by, openMs };
    if (by === "upstream_error") {
      this.recordEndpoint(upstream, endpoint, {
        kind: "connect_error",
        errorCode,
        durationMs: openMs,
        failure: true,
      });
      this.d.logger.warn({ ...fields, err: errorCode }, "websocket tunnel failed upstream");
      return;
    }
    if (by !== "client_error")
      this.recordEndpoint(upstream, endpoint, {
        kind: "success",
        durationMs: openMs,
        failure: false,
      });
    this.d.logger.debug(
      { ...fields, ...(errorCode ? { err: errorCode } : {}) },
      "websocket tunnel closed",
    );
  }

  private recordEndpoint(upstream: string, endpoint: string, outcome: Outcome): void {
    this.d.runtime.upstream(upstream)?.endpoints.record(endpoint, outcome);
  }
}
