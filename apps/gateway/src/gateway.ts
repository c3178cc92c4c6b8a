/**
 * Composition of one gateway instance: the traffic and admin listeners, the core runtime, the
 * proxy adapter, the cache, the control loop, health checks and telemetry. Tests, benches and
 * the e2e harness start it in-process on port 0.
 */
import { hostname } from "node:os";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import {
  EventBus,
  loadConfig,
  mathRandom,
  startupOnlyChanges,
  systemClock,
  type Clock,
  type Config,
  type InstanceSnapshot,
  type Random,
} from "@rg/core";
import { ResilienceRuntime } from "@rg/core";
import {
  createEventWriter,
  currentRevision,
  effectiveConfig,
  expireOverrides,
  openStore,
  seedBootstrapConfig,
  type Store,
} from "@rg/db";
import { GatewayMetrics } from "./admin/metrics";
import { startAdminServer } from "./admin/admin-server";
import { ResponseCache } from "./cache/response-cache";
import { ControlLoop } from "./control/control-loop";
import { HealthChecker } from "./health/health-checker";
import { HttpProxyAdapter } from "./proxy/http-proxy-adapter";
import { RouteTable } from "./routing/route-table";
import {
  RequestHandler,
  activeConfig,
  type ActiveConfig,
  type HandlerDeps,
} from "./server/handler";
import { UpgradeHandler } from "./server/upgrade";
import type { RuntimePort } from "./server/runtime-port";
import { createTrafficServer, serverLimits } from "./server/traffic-server";
import { TELEMETRY_CLOSE_TIMEOUT_MS, Telemetry } from "./telemetry/telemetry";
import { settlesWithin } from "./wait";
import type { ControlStorePort, EventWriterPort } from "./telemetry/ports";

/** How long a stopping gateway waits for its closed tunnels to end on both sides. */
const TUNNEL_CLOSE_WAIT_MS = 3000;

export interface StartGatewayOptions {
  /** A validated config or raw input (parsed YAML); validated here. */
  config: Config | unknown;
  /** SQLite file for control plane and telemetry; ignored when `store` is given. */
  storePath?: string;
  store?: Store;
  /** Where the bootstrap config came from (stored with it). */
  configSource?: string;
  instanceId?: string;
  /** Override the config's listen ports (0 = any free port). */
  port?: number;
  adminPort?: number;
  logger?: Logger;
  logLevel?: string;
  clock?: Clock;
  random?: Random;
  controlPollMs?: number;
  telemetryIntervalMs?: number;
  /**
   * Write telemetry to the store from a writer thread (default), so no SQLite transaction or
   * lock wait ever runs on the event loop that serves traffic; false writes in-thread.
   */
  writerThread?: boolean;
}

export interface Gateway {
  port: number;
  adminPort: number;
  url: string;
  adminUrl: string;
  instanceId: string;
  runtime: RuntimePort;
  bus: EventBus;
  metrics: GatewayMetrics;
  adapter: HttpProxyAdapter;
  cache: ResponseCache;
  config(): Config;
  revision(): number;
  inFlight(): number;
  /** Apply a config now (what the control loop does on a new revision). */
  applyConfig(config: Config, revision?: number): void;
  /** Run the once-a-second telemetry work now. */
  tick(): void;
  snapshot(): InstanceSnapshot;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The runtime's snapshot with each route's open WebSocket tunnels. */
function withTunnels<S extends Pick<InstanceSnapshot, "routes">>(
  s: S,
  open: ReadonlyMap<string, number>,
): S {
  if (open.size === 0) return s;
  const routes: InstanceSnapshot["routes"] = {};
  for (const [id, r] of Object.entries(s.routes)) {
    const n = open.get(id);
    routes[id] = n === undefined ? r : { ...r, websocketTunnels: n };
  }
  return { ...s, routes };
}

export async function startGateway(opts: StartGatewayOptions): Promise<Gateway> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? mathRandom;
  const instanceId = opts.instanceId ?? `${hostname()}-${process.pid}`;
  const logger = opts.logger ?? pino({ level: opts.logLevel ?? "info", base: { instanceId } });
  const bootstrap = loadConfig(opts.config);

  // Control plane: the store's effective config (bootstrap ⊕ overrides) wins over the file.
  const ownStore = !opts.store && opts.storePath !== undefined;
  const store: Store | undefined =
    opts.store ?? (opts.storePath ? openStore(opts.storePath) : undefined);
  let config = bootstrap;
  let revision = 0;
  let controlStore: ControlStorePort | undefined;
  let writer: EventWriterPort | undefined;
  if (store) {
    seedBootstrapConfig(store, opts.config, opts.configSource ?? "startGateway");
    controlStore = {
      currentRevision: () => currentRevision(store),
      effectiveConfig: (now) => effectiveConfig(store, now),
      expireOverrides: (now) => expireOverrides(store, now),
    };
    const eff = controlStore.effectiveConfig(clock.wallNow());
    revision = eff.revision;
    if ("config" in eff) config = eff.config;
    else
      logger.error(
        { issues: eff.issues },
        "stored overrides are invalid; serving the bootstrap config",
      );
    writer = createEventWriter(store, { instanceId, thread: opts.writerThread ?? true });
  }

  const bus = new EventBus();
  const runtime: RuntimePort = new ResilienceRuntime({ clock, random, events: bus });
  const adapter = new HttpProxyAdapter({ clock });
  const cache = new ResponseCache(config.gateway.cache.maxBytes);
  const metrics = new GatewayMetrics();
  const health = new HealthChecker((id) => runtime.upstream(id)?.endpoints);
  const startedAt = clock.wallNow();

  let active: ActiveConfig = activeConfig(config, revision, new RouteTable(config));
  /** What the listeners and the parser were set up with. */
  const startConfig = config;
  const deps: HandlerDeps = {
    active: () => active,
    runtime,
    adapter,
    cache,
    metrics,
    bus,
    clock,
    logger,
    random: () => random.next(),
  };
  const handler = new RequestHandler(deps);
  const upgrades = new UpgradeHandler(deps, handler);
  metrics.countTunnels(() => upgrades.tunnels());
  const traffic = createTrafficServer(config.gateway, handler.handle, upgrades.handle);
  const server: Server = traffic.server;
  server.on("error", (err) => logger.error({ err }, "traffic server error"));

  const applyConfig = (next: Config, rev = active.revision + 1): void => {
    // What can refuse the revision runs first: a refused one leaves the previous config
    // serving and its health probes running. The runtime checks before it changes anything.
    const nextActive = activeConfig(next, rev, new RouteTable(next));
    const probes = health.plan(next);
    const limits = serverLimits(next.gateway);
    runtime.apply(next);
    const configured = new Map<string, Set<string>>();
    for (const [id, u] of Object.entries(next.upstreams)) {
      const urls = new Set<string>();
      for (const ep of Object.values(u.endpoints)) {
        adapter.ensureEndpoint(id, ep.url, u.maxSockets);
        urls.add(ep.url);
      }
      configured.set(id, urls);
    }
    adapter.retainOnly(configured);
    cache.resize(next.gateway.cache.maxBytes);
    // In-flight requests keep the ActiveConfig they read; new ones see this one.
    active = nextActive;
    // The parser's limits that Node reads per connection check apply at once; the listeners
    // and the header size limit are fixed at start (overrides of them are refused).
    server.keepAliveTimeout = limits.keepAliveTimeout;
    server.headersTimeout = limits.headersTimeout;
    server.requestTimeout = limits.requestTimeout;
    for (const issue of startupOnlyChanges(startConfig, next))
      logger.warn({ path: issue.path }, `config: ${issue.path} ${issue.message}`);
    health.start(probes);
    upgrades.reconcile(active);
  };
  applyConfig(config, revision);

  bus.on((e) => {
    if (e.type === "breaker.transition") {
      const level = e.to === "open" || e.to === "forced_open" ? "error" : "warn";
      const cb = active.config.upstreams[e.upstream]?.circuitBreaker;
      const thresholds = cb && {
        failureRateThreshold: cb.failureRateThreshold,
        slowCallRateThreshold: cb.slowCallRateThreshold,
        slowCallDurationMs: cb.slowCallDurationMs,
        consecutiveFailures: cb.consecutiveFailures,
        minimumCalls: cb.minimumCalls,
        window: cb.window,
      };
      logger[level](
        {
          upstream: e.upstream,
          route: e.route,
          from: e.from,
          to: e.to,
          reason: e.reason,
          thresholds,
        },
        `breaker ${e.upstream} ${e.from} → ${e.to}`,
      );
    } else if (e.type === "config.refused") {
      logger.error({ revision: e.revision, errors: e.errors }, "config revision refused");
    } else if (e.type === "config.applied") {
      logger.info({ revision: e.revision }, "config revision applied");
    }
  });

  const snapshot = (): InstanceSnapshot => ({
    instanceId,
    pid: process.pid,
    startedAt,
    at: clock.wallNow(),
    revision: active.revision,
    mode: active.config.gateway.mode,
    ...withTunnels(runtime.snapshot(), upgrades.tunnels()),
    inFlight: handler.inFlight,
    websocketTunnels: upgrades.openCount(),
    telemetry: telemetry.stats() as InstanceSnapshot["telemetry"],
  });

  const telemetry: Telemetry = new Telemetry({
    bus,
    writer,
    drainSli: (before) => {
      runtime.tick();
      return runtime.sli.drain(before);
    },
    snapshot,
    config: () => active.config,
    wallNow: () => clock.wallNow(),
    onEvent: (e) => metrics.onEvent(e),
    onSnapshot: (s) => metrics.fromSnapshot(s),
    ...(opts.telemetryIntervalMs !== undefined ? { intervalMs: opts.telemetryIntervalMs } : {}),
  });

  const control = controlStore
    ? new ControlLoop({
        store: controlStore,
        bus,
        wallNow: () => clock.wallNow(),
        apply: (c, rev) => applyConfig(c, rev),
        current: () => active.config,
        revision,
        ...(opts.controlPollMs !== undefined ? { pollMs: opts.controlPollMs } : {}),
        onError: (where, err) => logger.warn({ err, where }, "control store unavailable"),
      })
    : undefined;

  let port: number;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    port = await listen(
      server,
      opts.port ?? config.gateway.listen.port,
      config.gateway.listen.host,
    );
    admin = await startAdminServer(
      config.gateway.admin.host,
      opts.adminPort ?? config.gateway.admin.port,
      {
        ready: () => {
          const routes = Object.entries(active.config.routes);
          const serviceable = routes.filter(([id]) => runtime.pipeline(id) !== undefined).length;
          return serviceable > 0
            ? { ready: true }
            : { ready: false, reason: "no route can be served" };
        },
        metrics: () => metrics.text(),
        metricsContentType: metrics.registry.contentType,
        state: () => snapshot(),
      },
    );
  } catch (err) {
    server.close();
    health.close();
    adapter.close();
    await telemetry.close();
    if (ownStore) store?.close();
    throw err;
  }
  telemetry.start();
  control?.start();
  logger.info(
    { port, adminPort: admin.port, revision: active.revision, routes: active.routes.size },
    "gateway listening",
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const srv = server;
      srv.close();
      traffic.drain();
      upgrades.drain();
      srv.closeIdleConnections();
      const drainUntil = Date.now() + active.config.gateway.drainTimeoutMs;
      while (handler.inFlight + upgrades.handshaking > 0 && Date.now() < drainUntil) {
        await new Promise((r) => setTimeout(r, 20));
      }
      srv.closeAllConnections();
      // Bounded by the tunnels' own 2 s grace for a frame in progress; the timer is a backstop.
      await settlesWithin(upgrades.closeAll(), TUNNEL_CLOSE_WAIT_MS);
      control?.stop();
      health.close();
      if ((await telemetry.close()) === "timed_out")
        logger.error(
          { waitedMs: TELEMETRY_CLOSE_TIMEOUT_MS },
          "the store did not take the last events in time; stopping without them",
        );
      adapter.close();
      await new Promise<void>((r) => admin.server.close(() => r()));
      admin.server.closeAllConnections();
      if (ownStore) store?.close();
      logger.info({ inFlightLeft: handler.inFlight }, "gateway stopped");
    })();
    return closing;
  };

  const host = config.gateway.listen.host;
  return {
    port,
    adminPort: admin.port,
    url: `http://${host}:${port}`,
    adminUrl: `http://${config.gateway.admin.host}:${admin.port}`,
    instanceId,
    runtime,
    bus,
    metrics,
    adapter,
    cache,
    config: () => active.config,
    revision: () => active.revision,
    inFlight: () => handler.inFlight,
    applyConfig,
    tick: () => telemetry.tick(),
    snapshot,
    close,
  };
}
