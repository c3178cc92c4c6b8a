"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState } from "react";
import { Badge, BreakerBadge, HealthBadge } from "~/components/badges";
import { BreakerStrip } from "~/components/breaker-strip";
import { ErrorRateChart, LatencyChart, RequestsChart } from "~/components/charts";
import { QueryError } from "~/components/errors";
import { Ago } from "~/components/time";
import { breakerMeta, describeReason, fillUnknown, worstState } from "~/lib/breaker";
import { formatMs, formatPercent } from "~/lib/format";
import { rangeFor, refetchMsFor, windowById, WINDOWS } from "~/lib/windows";
import { useTRPC, type RouterOutputs } from "~/trpc/react";
import { LastValidNotice } from "../../controls/last-valid-notice";

type Upstream = RouterOutputs["upstreams"]["get"];

export function UpstreamView({ id, initialNow }: { id: string; initialNow: number }) {
  const trpc = useTRPC();
  const [windowId, setWindowId] = useState("15m");
  const w = windowById(windowId);
  const [now, setNow] = useState(initialNow);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), refetchMsFor(w));
    return () => clearInterval(t);
  }, [w]);
  const range = rangeFor(w, now);
  const up = useQuery({ ...trpc.upstreams.get.queryOptions({ id }), refetchInterval: 1000 });
  const series = useQuery({
    ...trpc.upstreams.series.queryOptions({ id, ...range }),
    placeholderData: keepPreviousData,
  });
  const u = up.data;
  const state = worstState((u?.breakers ?? []).map((b) => b.state));
  const points = series.data?.points ?? [];
  const th = series.data?.thresholds;
  return (
    <>
      <div className="page-head">
        <div>
          <p className="small" style={{ margin: 0 }}>
            <Link href="/upstreams">Upstreams</Link> /
          </p>
          <div className="row">
            <h1>{id}</h1>
            <BreakerBadge state={state ?? null} />
          </div>
          {u && (
            <p>
              {u.routes.length > 0 ? `Serves routes ${u.routes.join(", ")}` : "No route uses it"} ·{" "}
              {u.instances} gateway instance{u.instances === 1 ? "" : "s"} reporting
            </p>
          )}
        </div>
        <div className="segmented" role="group" aria-label="Time window">
          {WINDOWS.map((x) => (
            <button
              key={x.id}
              type="button"
              aria-pressed={x.id === w.id}
              onClick={() => {
                setWindowId(x.id);
                setNow(Date.now());
              }}
            >
              {x.label}
            </button>
          ))}
        </div>
      </div>
      {up.error && <QueryError error={up.error} />}
      {u?.fallback && <LastValidNotice fallback={u.fallback} />}
      {series.error && <QueryError error={series.error} />}
      {u && <BreakerPanel u={u} />}
      <section className="panel" aria-labelledby="strip-h">
        <div className="chart-title">
          <h3 id="strip-h">Breaker state over time</h3>
          <span className="unit">last {w.label}</span>
        </div>
        <BreakerStrip
          spans={fillUnknown(series.data?.breakerStrip ?? [], state)}
          from={range.from}
          to={range.to}
        />
      </section>
      <div className="grid-2">
        <RequestsChart points={points} from={range.from} to={range.to} />
        <ErrorRateChart
          points={points.map((p) => ({
            t: p.t,
            errorRate: p.total > 0 ? p.errorRate * 100 : null,
          }))}
          from={range.from}
          to={range.to}
          thresholdPercent={th?.failureRatePercent}
        />
      </div>
      <LatencyChart
        points={points}
        from={range.from}
        to={range.to}
        slowCallMs={th?.slowCallDurationMs}
      />
      {u && <EndpointsTable u={u} />}
    </>
  );
}

function vsThreshold(observed: number | null, threshold: number, percent: boolean) {
  if (observed === null) return <span className="muted">not enough calls</span>;
  const over = threshold > 0 && observed >= threshold;
  const f = (n: number) => (percent ? formatPercent(n) : String(n));
  return (
    <span className={over ? "tone-text-bad" : undefined}>
      {f(observed)} {over ? "≥" : "<"} {f(threshold)}
      {over ? " ▲" : ""}
    </span>
  );
}

function BreakerPanel({ u }: { u: Upstream }) {
  const cfg = u.config.circuitBreaker;
  return (
    <section className="panel" aria-labelledby="breaker-h">
      <div className="panel-head">
        <h2 id="breaker-h">Circuit breaker: live window vs thresholds</h2>
        <span className="muted small">
          window{" "}
          {cfg.window.type === "count"
            ? `last ${cfg.window.size} calls`
            : `last ${cfg.window.sizeMs / 1000} s`}{" "}
          · min {cfg.minimumCalls} calls · open {formatMs(cfg.openDurationMs)}
          {cfg.forcedState !== "none" ? ` · operator: ${breakerMeta(cfg.forcedState).label}` : ""}
        </span>
      </div>
      {u.breakers.length === 0 ? (
        <p className="empty">No gateway instance is reporting this breaker.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Breaker</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Calls
                </th>
                <th scope="col">Failure rate</th>
                <th scope="col">Slow-call rate (&gt; {formatMs(cfg.slowCallDurationMs)})</th>
                <th scope="col">Consecutive failures</th>
                <th scope="col">Why / since</th>
              </tr>
            </thead>
            <tbody>
              {u.breakers.map((b) => (
                <tr key={`${b.instanceId}-${b.name}`}>
                  <td>
                    {b.name}
                    <div className="muted small mono">{b.instanceId}</div>
                  </td>
                  <td>
                    <BreakerBadge state={b.state} />
                    {b.openUntil && b.state === "open" && (
                      <div className="muted small">
                        probes <Ago at={b.openUntil} />
                      </div>
                    )}
                  </td>
                  <td className="num">{b.window.calls}</td>
                  <td>
                    {vsThreshold(b.window.failureRate, b.thresholds.failureRateThreshold, true)}
                  </td>
                  <td>
                    {vsThreshold(b.window.slowCallRate, b.thresholds.slowCallRateThreshold, true)}
                  </td>
                  <td>
                    {b.thresholds.consecutiveFailures > 0 ? (
                      vsThreshold(
                        b.window.consecutiveFailures,
                        b.thresholds.consecutiveFailures,
                        false,
                      )
                    ) : (
                      <span>
                        {b.window.consecutiveFailures} <span className="muted">(no limit)</span>
                      </span>
                    )}
                  </td>
                  <td className="small">
                    {describeReason(b.reason) ?? "—"}
                    <div className="muted">
                      since <Ago at={b.since} />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {u.bulkhead && (
        <p className="muted small" style={{ marginBottom: 0 }}>
          Bulkhead: {u.bulkhead.inFlight}/{u.bulkhead.maxConcurrent} in flight, {u.bulkhead.queued}/
          {u.bulkhead.maxQueue} queued, {u.bulkhead.rejected} rejected
          {u.retryBudget &&
            ` · Retry budget: ${u.retryBudget.retrying} retrying of ${u.retryBudget.active} active, ${u.retryBudget.exhausted} refused`}
        </p>
      )}
    </section>
  );
}

function EndpointsTable({ u }: { u: Upstream }) {
  return (
    <section className="panel" aria-labelledby="endpoints-h">
      <h2 id="endpoints-h">Endpoints</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Health</th>
              <th scope="col">Ejected until</th>
              <th scope="col" className="num">
                Weight → effective
              </th>
              <th scope="col" className="num">
                In flight
              </th>
              <th scope="col" className="num">
                Ejections
              </th>
            </tr>
          </thead>
          <tbody>
            {u.endpoints.length === 0
              ? Object.entries(u.config.endpoints).map(([eid, e]) => (
                  <tr key={eid}>
                    <td>
                      <strong>{eid}</strong> <span className="muted small mono">{e.url}</span>
                    </td>
                    <td>
                      <Badge meta={{ label: "No data", icon: "○", tone: "muted" }} />
                    </td>
                    <td>—</td>
                    <td className="num">{e.weight} → —</td>
                    <td className="num">—</td>
                    <td className="num">—</td>
                  </tr>
                ))
              : u.endpoints.map((e) => (
                  <tr key={`${e.instanceId}-${e.id}`}>
                    <td>
                      <strong>{e.id}</strong> <span className="muted small mono">{e.url}</span>
                    </td>
                    <td>
                      <HealthBadge healthy={e.healthy} ejected={e.ejected} />
                    </td>
                    <td className="small">
                      {e.ejected && e.ejectedUntil ? <Ago at={e.ejectedUntil} /> : "—"}
                    </td>
                    <td className="num">
                      {e.weight} → {Math.round(e.effectiveWeight)}
                    </td>
                    <td className="num">{e.inFlight}</td>
                    <td className="num">{e.ejections}</td>
                  </tr>
                ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
