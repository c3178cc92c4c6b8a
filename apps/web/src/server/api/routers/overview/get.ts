import type { BreakerReason, BreakerState, Config, InstanceSnapshot, ModeName } from "@rg/core";
import { BURN_LONG_WINDOW_MS, BURN_SHORT_WINDOW_MS, formatIssues } from "@rg/core";
import { effectiveConfig, lastValidConfig, readInstances, type Store } from "@rg/db";
import { worstBreaker } from "../../lib/breaker-state";
import {
  budgetLeft,
  burn,
  emptyTotals,
  longWindowTotalsBy,
  sparkline,
  totalsBy,
} from "../../lib/sli";
import { viewerProcedure } from "../../trpc";

const DAY_MS = 86_400_000;
const RATE_WINDOW_MS = 60_000;
const SPARK_WINDOW_MS = 5 * 60_000;
const SPARK_STEP_MS = 10_000;

export interface OverviewUpstream {
  id: string;
  /**
   * Worst breaker state across live instances. With none live, the last known state, from the
   * newest silent instance that reported it (`reportedAt`); "unknown" when none ever did.
   */
  state: BreakerState | "unknown";
  reason: BreakerReason | null;
  since: number | null;
  /** Heartbeat of the silent instance the state is from; null when it is live (or unknown). */
  reportedAt: number | null;
  /** Null when there is no data: no request in the window and no live instance to say 0. */
  rps: number | null;
  /** Null without requests in the window. */
  errorRate: number | null;
  /** Null without requests in the window. */
  p99: number | null;
  budgetRemaining: number | null;
  sparkline: { t: number; rps: number; errorRate: number }[];
}

export interface OverviewRoute {
  id: string;
  upstream: string;
  mode: ModeName;
  criticality: "critical" | "non_critical";
  slo: Config["routes"][string]["slo"];
  burnRate1h: number;
  burnRate5m: number;
  budgetRemaining: number;
  /** Open WebSocket tunnels across live instances; null when the route does not allow them. */
  websockets: number | null;
}

export interface OverviewInstance {
  instanceId: string;
  heartbeatAgeMs: number;
  alive: boolean;
  revision: number;
  inFlight: number;
  /** Open WebSocket tunnels; null when the instance does not report them. */
  websocketTunnels: number | null;
  dropped: number;
  /** How its telemetry reaches the store; null when the instance does not say. */
  store: StoreWrites | null;
}

export interface StoreWrites {
  /** False while the writer's last flush failed. */
  healthy: boolean;
  /** On the writer thread, or on the gateway's event loop. */
  mode: "thread" | "in_thread";
  /** The last flush's error when failing, else why the writer thread stopped, if it did. */
  error: string | null;
}

/** Whether any gateway instance reports (heartbeat younger than the store's ALIVE_MS). */
export interface GatewaysReporting {
  alive: number;
  /** Instances that ever reported. */
  total: number;
  /** The newest heartbeat of any instance; null when none ever reported. */
  lastHeartbeatAt: number | null;
  /** How long since that heartbeat when no instance is alive; null otherwise. */
  silentForMs: number | null;
}

export interface Overview {
  revision: number;
  gateways: GatewaysReporting;
  gatewayMode: ModeName;
  /** Set when the stored config does not validate (the gateway keeps its last good one). */
  configIssues: string[] | null;
  /**
   * Set when the stored config does not validate: the mode and routes shown are then from the
   * last valid config (see `lastValidConfig`), null when there is none either.
   */
  configFallback: { from: number; until: number | null; source: "history" | "bootstrap" } | null;
  upstreams: OverviewUpstream[];
  routes: OverviewRoute[];
  instances: OverviewInstance[];
}

export function buildOverview(store: Store, now: number): Overview {
  const eff = effectiveConfig(store, now);
  // The gateway keeps serving the last valid config while the stored one does not validate.
  const last = "config" in eff ? null : lastValidConfig(store, now);
  const config = "config" in eff ? eff.config : (last?.config ?? null);
  const instances = readInstances(store, now);
  const live = instances.filter((i) => i.alive);

  const perUpstream1m = totalsBy(store, "upstream", now - RATE_WINDOW_MS, now);
  const perRoute1h = totalsBy(store, "route", now - BURN_LONG_WINDOW_MS, now);
  const perRoute5m = totalsBy(store, "route", now - BURN_SHORT_WINDOW_MS, now);

  // Budgets are measured over each route's SLO window; routes usually share one length.
  const budgetWindows = new Map<number, ReturnType<typeof totalsBy>>();
  const budgetTotals = (days: number) => {
    let m = budgetWindows.get(days);
    if (!m) {
      m = longWindowTotalsBy(store, "route", now - days * DAY_MS, now);
      budgetWindows.set(days, m);
    }
    return m;
  };

  const routes: OverviewRoute[] = Object.entries(config?.routes ?? {}).map(([id, r]) => ({
    id,
    upstream: r.upstream,
    mode: r.mode,
    criticality: r.criticality,
    slo: r.slo,
    burnRate1h: burn(perRoute1h.get(id), r.slo.successTarget),
    burnRate5m: burn(perRoute5m.get(id), r.slo.successTarget),
    budgetRemaining: budgetLeft(budgetTotals(r.slo.windowDays).get(id), r.slo.successTarget),
    websockets: r.websocket.enabled
      ? live.reduce((n, i) => n + (i.snapshot.routes[id]?.websocketTunnels ?? 0), 0)
      : null,
  }));

  const upstreamIds = new Set<string>(Object.keys(config?.upstreams ?? {}));
  for (const i of live) for (const id of Object.keys(i.snapshot.upstreams)) upstreamIds.add(id);

  const upstreams: OverviewUpstream[] = [...upstreamIds].sort().map((id) => {
    let breakers = live.flatMap((i) => i.snapshot.upstreams[id]?.breakers ?? []);
    let reportedAt: number | null = null;
    if (breakers.length === 0) {
      // Newest heartbeat first: the last instance that reported this upstream.
      const last = instances.find((i) => !i.alive && i.snapshot.upstreams[id]);
      if (last) {
        breakers = last.snapshot.upstreams[id]!.breakers;
        reportedAt = last.heartbeatAt;
      }
    }
    const worst = worstBreaker(breakers);
    const t = perUpstream1m.get(id) ?? emptyTotals();
    const budgets = routes.filter((r) => r.upstream === id).map((r) => r.budgetRemaining);
    const traffic = t.total > 0;
    return {
      id,
      state: worst?.state ?? "unknown",
      reason: worst?.reason ?? null,
      since: worst?.since ?? null,
      reportedAt: worst ? reportedAt : null,
      rps: traffic ? t.rps : live.length > 0 ? 0 : null,
      errorRate: traffic ? t.errorRate : null,
      p99: traffic ? t.p99 : null,
      budgetRemaining: budgets.length > 0 ? Math.min(...budgets) : null,
      sparkline: sparkline(store, { upstream: id }, now - SPARK_WINDOW_MS, now, SPARK_STEP_MS),
    };
  });

  const lastHeartbeatAt = instances[0]?.heartbeatAt ?? null;
  return {
    revision: eff.revision,
    gateways: {
      alive: live.length,
      total: instances.length,
      lastHeartbeatAt,
      silentForMs:
        live.length === 0 && lastHeartbeatAt !== null ? Math.max(0, now - lastHeartbeatAt) : null,
    },
    gatewayMode: config?.gateway.mode ?? "normal",
    configIssues: "issues" in eff ? formatIssues(eff.issues) : null,
    configFallback: last ? { from: last.from, until: last.until, source: last.source } : null,
    upstreams,
    routes,
    instances: instances.map((i) => ({
      instanceId: i.instanceId,
      heartbeatAgeMs: i.ageMs,
      alive: i.alive,
      revision: i.snapshot.revision,
      inFlight: i.snapshot.inFlight,
      websocketTunnels: i.snapshot.websocketTunnels ?? null,
      dropped: Object.values(i.snapshot.telemetry.dropped).reduce((a, b) => a + b, 0),
      store: storeWrites(i.snapshot.telemetry),
    })),
  };
}

/**
 * How an instance's telemetry reaches the store: null when it reports nothing about it (no
 * store, or a gateway from before the writer reported its mode).
 */
function storeWrites(t: InstanceSnapshot["telemetry"]): StoreWrites | null {
  if (t.healthy === undefined) return null;
  return {
    healthy: t.healthy,
    mode: t.mode ?? "in_thread",
    error: (t.healthy ? undefined : t.lastError) ?? t.threadError ?? null,
  };
}

export const get = viewerProcedure.query(({ ctx }) => buildOverview(ctx.store, ctx.now()));
