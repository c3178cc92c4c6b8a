"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Badge, BreakerBadge, ModeBadge } from "~/components/badges";
import { Sparkline } from "~/components/charts";
import { QueryError } from "~/components/errors";
import { ModeControl } from "~/components/mode-control";
import { useCan } from "~/components/session";
import { Ago, Elapsed } from "~/components/time";
import { breakerMeta, describeReason, modeMeta, type StateMeta } from "~/lib/breaker";
import { formatDuration, formatMs, formatPercent, formatRate } from "~/lib/format";
import { budgetView, burnView } from "~/lib/slo";
import { useTRPC, type RouterOutputs } from "~/trpc/react";
import { LastValidNotice } from "./controls/last-valid-notice";

type Overview = RouterOutputs["overview"]["get"];
type UpstreamCard = Overview["upstreams"][number];

export function OverviewView() {
  const trpc = useTRPC();
  const overview = useQuery({ ...trpc.overview.get.queryOptions(), refetchInterval: 1500 });
  const incidents = useQuery({
    ...trpc.incidents.list.queryOptions({ status: "open" }),
    refetchInterval: 2000,
  });
  const canOperate = useCan("operator");
  const d = overview.data;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Overview</h1>
          <p>{d ? `Config revision ${d.revision}` : "Loading…"}</p>
        </div>
        {overview.dataUpdatedAt > 0 && d && (
          <span className="muted small">
            {d.gateways.alive > 0 ? (
              <>
                Live · updated <Ago at={overview.dataUpdatedAt} />
              </>
            ) : (
              <>
                Dashboard refreshed <Ago at={overview.dataUpdatedAt} /> ·{" "}
                {d.gateways.total > 0 ? "gateways silent" : "no gateway has reported yet"}
              </>
            )}
          </span>
        )}
      </div>
      {overview.error && <QueryError error={overview.error} />}
      {d && d.gateways.alive === 0 && <GatewaysSilentBanner gateways={d.gateways} />}
      {incidents.data && incidents.data.length > 0 && (
        <section className="banner tone-bad" aria-label="Open incidents">
          <span aria-hidden="true" style={{ fontSize: 18 }}>
            ⚑
          </span>
          <div className="grow">
            <strong>
              {incidents.data.length} open incident{incidents.data.length > 1 ? "s" : ""}
            </strong>
            <ul style={{ margin: "4px 0 0", paddingLeft: 18 }}>
              {incidents.data.slice(0, 3).map((i) => (
                <li key={i.id}>
                  <Link href={`/incidents/${i.id}`}>{i.title}</Link>{" "}
                  <span className="muted small">
                    opened <Ago at={i.openedAt} /> · {i.status}
                  </span>
                </li>
              ))}
            </ul>
          </div>
          <Link href="/incidents">All incidents →</Link>
        </section>
      )}
      {d && (
        <section
          className={`banner tone-${modeMeta(d.gatewayMode).tone}`}
          aria-label="Gateway mode"
        >
          <div className="grow">
            <div className="row">
              <strong>Gateway mode</strong>
              <ModeBadge mode={d.gatewayMode} />
            </div>
            <span className="muted small">
              {d.gateways.alive === 0
                ? "The configured mode: no gateway is reporting, so no route is known to serve traffic."
                : d.gatewayMode === "read_only"
                  ? "Writes are refused with 503; reads pass."
                  : d.gatewayMode === "degraded"
                    ? "Non-critical routes are served from cache and fallbacks."
                    : "All routes serve traffic normally."}
            </span>
          </div>
          {canOperate ? (
            <ModeControl scope="gateway" current={d.gatewayMode} />
          ) : (
            <span className="muted small">Operators can change the mode.</span>
          )}
        </section>
      )}
      {d?.configIssues &&
        (d.configFallback ? (
          <LastValidNotice fallback={{ ...d.configFallback, issues: d.configIssues }} />
        ) : (
          <div role="alert" className="alert error">
            The stored config does not validate: {d.configIssues.join("; ")}
          </div>
        ))}
      {d && (
        <section aria-labelledby="upstreams-h" className="stack">
          <h2 id="upstreams-h">Upstreams</h2>
          {d.upstreams.length === 0 ? (
            <p className="empty panel">No upstreams configured yet.</p>
          ) : (
            <div className="grid-cards">
              {d.upstreams.map((u) => (
                <UpstreamCardView key={u.id} u={u} reporting={d.gateways.alive > 0} />
              ))}
            </div>
          )}
        </section>
      )}
      {d && (
        <>
          <RoutesTable routes={d.routes} />
          <InstancesTable instances={d.instances} />
        </>
      )}
    </>
  );
}

/** No live gateway instance: what the page shows is not live. */
function GatewaysSilentBanner({ gateways }: { gateways: Overview["gateways"] }) {
  return (
    <section
      role="alert"
      className={`banner tone-${gateways.total > 0 ? "bad" : "warn"}`}
      aria-label="Gateways not reporting"
    >
      <span aria-hidden="true" style={{ fontSize: 18 }}>
        ✕
      </span>
      <div className="grow">
        {gateways.total > 0 ? (
          <>
            <strong>No gateway has reported for {formatDuration(gateways.silentForMs)}</strong>
            <div className="small">
              Figures below are the last known and stale: breaker states are as last reported, and
              traffic counts stop where the gateways stopped. See Gateway instances below.
            </div>
          </>
        ) : (
          <>
            <strong>No gateway has reported yet</strong>
            <div className="small">There is no live data until a gateway instance starts.</div>
          </>
        )}
      </div>
    </section>
  );
}

function UpstreamCardView({ u, reporting }: { u: UpstreamCard; reporting: boolean }) {
  const meta = breakerMeta(u.state);
  const reason = describeReason(u.reason);
  const tripped = meta.tone === "bad" || meta.tone === "warn";
  const budget = budgetView(u.budgetRemaining);
  return (
    <article className={`panel card tone-border-${meta.tone}`} aria-labelledby={`up-${u.id}`}>
      <div className="card-head">
        <h3 id={`up-${u.id}`}>
          <Link href={`/upstreams/${u.id}`}>{u.id}</Link>
        </h3>
        <BreakerBadge state={u.state === "unknown" ? null : u.state} />
      </div>
      {reason && (tripped || u.state !== "closed") && (
        <p className={`reason ${tripped ? "" : "neutral"}`} style={{ margin: 0 }}>
          {reason}
        </p>
      )}
      <span className="muted small">
        {u.reportedAt !== null ? (
          <>
            {meta.label} when last reported <Ago at={u.reportedAt} />; no gateway reports it now
          </>
        ) : u.since ? (
          <>
            {meta.label} for <Elapsed since={u.since} /> (since <Ago at={u.since} />)
          </>
        ) : reporting ? (
          "No gateway has reported this upstream yet"
        ) : (
          "No gateway is reporting"
        )}
      </span>
      <dl className="metrics">
        <div>
          <dt>req/s</dt>
          <dd>{formatRate(u.rps)}</dd>
        </div>
        <div>
          <dt>errors</dt>
          <dd>{formatPercent(u.errorRate === null ? null : u.errorRate * 100)}</dd>
        </div>
        <div>
          <dt>p99</dt>
          <dd>{formatMs(u.p99)}</dd>
        </div>
        <div>
          <dt>budget</dt>
          <dd className={`tone-text-${budget.tone}`} title={`error budget: ${budget.text}`}>
            {budget.tone === "bad" ? "▼ " : ""}
            {budget.short}
          </dd>
        </div>
      </dl>
      <Sparkline
        label={`${u.id}: requests per second and error rate over the last 5 minutes`}
        points={u.sparkline.map((p) => ({ t: p.t, rps: p.rps, errorRate: p.errorRate * 100 }))}
      />
    </article>
  );
}

function RoutesTable({ routes }: { routes: Overview["routes"] }) {
  return (
    <section className="panel" aria-labelledby="routes-h">
      <h2 id="routes-h">Routes</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Mode</th>
              <th scope="col">SLO</th>
              <th scope="col" className="num">
                Burn 1 h
              </th>
              <th scope="col" className="num">
                Burn 5 min
              </th>
              <th scope="col">Budget</th>
            </tr>
          </thead>
          <tbody>
            {routes.map((r) => {
              const b1 = burnView(r.burnRate1h, r.slo.burnRateAlert);
              const b5 = burnView(r.burnRate5m, r.slo.burnRateAlert);
              const budget = budgetView(r.budgetRemaining);
              return (
                <tr key={r.id}>
                  <td>
                    <strong>{r.id}</strong>
                    <div className="muted small">
                      → <Link href={`/upstreams/${r.upstream}`}>{r.upstream}</Link> ·{" "}
                      {r.criticality === "critical" ? "critical" : "non-critical"}
                      {r.websockets !== null
                        ? ` · ${r.websockets} WebSocket${r.websockets === 1 ? "" : "s"} open`
                        : ""}
                    </div>
                  </td>
                  <td>
                    <ModeBadge mode={r.mode} />
                  </td>
                  <td className="small">
                    {formatPercent(r.slo.successTarget * 100, { digits: 2 })} ok
                    <div className="muted">
                      {formatPercent(r.slo.latencyTarget * 100)} &lt;{" "}
                      {formatMs(r.slo.latencyThresholdMs)}
                    </div>
                  </td>
                  <td className={`num tone-text-${b1.tone}`}>{b1.text}</td>
                  <td className={`num tone-text-${b5.tone}`}>{b5.text}</td>
                  <td>
                    <Badge
                      meta={{
                        label: budget.text,
                        icon: budget.tone === "bad" ? "▼" : "◆",
                        tone: budget.tone,
                      }}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** An instance's store writes as words, an icon and a tone (the error is the cell's title). */
function storeWritesMeta(w: Overview["instances"][number]["store"]): StateMeta {
  if (w === null) return { label: "Not reported", icon: "○", tone: "muted" };
  if (!w.healthy) return { label: "Failing", icon: "✕", tone: "bad" };
  if (w.mode === "thread") return { label: "Writer thread", icon: "●", tone: "ok" };
  return w.error
    ? { label: "On the event loop (thread stopped)", icon: "▲", tone: "warn" }
    : { label: "On the event loop", icon: "●", tone: "ok" };
}

function InstancesTable({ instances }: { instances: Overview["instances"] }) {
  return (
    <section className="panel" aria-labelledby="instances-h">
      <h2 id="instances-h">Gateway instances</h2>
      {instances.length === 0 ? (
        <p className="empty">No gateway instance has reported yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Heartbeat</th>
                <th scope="col" className="num">
                  Revision
                </th>
                <th scope="col" className="num">
                  In flight
                </th>
                <th scope="col" className="num">
                  Open WebSockets
                </th>
                <th scope="col" className="num">
                  Dropped events
                </th>
                <th scope="col">Store writes</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((i) => (
                <tr key={i.instanceId}>
                  <td className="mono">{i.instanceId}</td>
                  <td>
                    <Badge
                      meta={
                        i.alive
                          ? {
                              label: `${formatDuration(i.heartbeatAgeMs)} ago`,
                              icon: "●",
                              tone: "ok",
                            }
                          : {
                              label: `silent ${formatDuration(i.heartbeatAgeMs)}`,
                              icon: "✕",
                              tone: "bad",
                            }
                      }
                    />
                  </td>
                  <td className="num">{i.revision}</td>
                  <td className="num">{i.inFlight}</td>
                  <td className="num">{i.websocketTunnels ?? "—"}</td>
                  <td className={`num ${i.dropped > 0 ? "tone-text-warn" : ""}`}>{i.dropped}</td>
                  <td>
                    <Badge meta={storeWritesMeta(i.store)} title={i.store?.error ?? undefined} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
