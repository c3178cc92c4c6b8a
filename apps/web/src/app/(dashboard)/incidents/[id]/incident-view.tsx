"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useId, useState } from "react";
import { BreakerStrip } from "~/components/breaker-strip";
import { ErrorRateChart, LatencyChart, RequestsChart } from "~/components/charts";
import { errorText, QueryError } from "~/components/errors";
import { useCan } from "~/components/session";
import { Ago, Elapsed } from "~/components/time";
import { formatClock, formatDateTime } from "~/lib/format";
import { buildTimeline, type TimelineInput } from "~/lib/timeline";
import { useTRPC, type RouterOutputs } from "~/trpc/react";
import { IncidentStatus } from "../incident-status";

type IncidentData = RouterOutputs["incidents"]["get"];

export function IncidentView({ id }: { id: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.incidents.get.queryOptions({ id }), refetchInterval: 2000 });
  const d = q.data;
  if (q.error) return <QueryError error={q.error} />;
  if (!d) return <p className="muted">Loading…</p>;
  const inc = d.incident;
  return (
    <>
      <div className="page-head">
        <div>
          <p className="small" style={{ margin: 0 }}>
            <Link href="/incidents">Incidents</Link> / #{inc.id}
          </p>
          <div className="row">
            <h1>{inc.title}</h1>
            <IncidentStatus status={inc.status} />
          </div>
          <p>
            {inc.scopeKind} <strong>{inc.scopeId}</strong> · trigger {inc.trigger} · opened{" "}
            {formatDateTime(inc.openedAt)} (<Ago at={inc.openedAt} />) ·{" "}
            {inc.resolvedAt ? (
              <>
                lasted <Elapsed since={inc.openedAt} until={inc.resolvedAt} />
              </>
            ) : (
              <>
                open for <Elapsed since={inc.openedAt} />
              </>
            )}
          </p>
          {inc.acknowledgedBy && (
            <p className="small">
              Acknowledged by {inc.acknowledgedBy} <Ago at={inc.acknowledgedAt} />
            </p>
          )}
          {inc.resolvedBy && (
            <p className="small">
              Resolved by {inc.resolvedBy}
              {inc.summary ? `: ${inc.summary}` : ""}
            </p>
          )}
        </div>
        <IncidentActions d={d} />
      </div>
      <div className="grid-2" style={{ alignItems: "start" }}>
        <Timeline items={d.timeline} />
        <ScopeCharts d={d} />
      </div>
    </>
  );
}

function Timeline({ items }: { items: readonly TimelineInput[] }) {
  const [all, setAll] = useState(false);
  const view = buildTimeline(items, all);
  const hiddenTotal = Object.values(view.hidden).reduce((a, b) => a + b, 0);
  return (
    <section className="panel" aria-labelledby="tl-h">
      <div className="panel-head">
        <h2 id="tl-h">Timeline</h2>
        <label className="row small" style={{ fontWeight: 400 }}>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show
          per-request events
        </label>
      </div>
      {view.rows.length === 0 ? (
        <p className="empty">Nothing recorded yet.</p>
      ) : (
        <ol className="timeline" aria-label="Incident timeline">
          {view.rows.map((r) => (
            <li key={r.key} data-kind={r.kind}>
              <time dateTime={new Date(r.at).toISOString()} title={formatDateTime(r.at)}>
                {formatClock(r.at)}
              </time>
              <span className={`tl-icon tone-${r.tone}`} aria-hidden="true">
                {r.icon}
              </span>
              <div>
                <div className="tl-kind">{r.kind}</div>
                <div>{r.text}</div>
                {r.by && <div className="muted small">by {r.by}</div>}
              </div>
            </li>
          ))}
        </ol>
      )}
      {!all && hiddenTotal > 0 && (
        <p className="muted small" style={{ marginBottom: 0 }}>
          {hiddenTotal} per-request events folded (
          {Object.entries(view.hidden)
            .map(([t, n]) => `${n} ${t}`)
            .join(", ")}
          ).
        </p>
      )}
    </section>
  );
}

function ScopeCharts({ d }: { d: IncidentData }) {
  const trpc = useTRPC();
  const { from, to } = d.window;
  const kind = d.scope.kind;
  const up = useQuery({
    ...trpc.upstreams.series.queryOptions({
      id: d.scope.id,
      from,
      to: Math.ceil(to / 1000) * 1000,
    }),
    enabled: kind === "upstream",
    refetchInterval: d.incident.resolvedAt ? false : 2000,
  });
  const rt = useQuery({
    ...trpc.routes.series.queryOptions({ id: d.scope.id, from, to: Math.ceil(to / 1000) * 1000 }),
    enabled: kind === "route",
    refetchInterval: d.incident.resolvedAt ? false : 2000,
  });
  if (kind === "gateway")
    return (
      <section className="panel">
        <h2>Gateway-wide</h2>
        <p className="muted">
          This incident concerns the whole gateway; see the <Link href="/">overview</Link> for every
          upstream.
        </p>
      </section>
    );
  const points = (kind === "upstream" ? up.data?.points : rt.data?.points) ?? [];
  const th = up.data?.thresholds;
  return (
    <div className="stack">
      {kind === "upstream" && (
        <section className="panel">
          <div className="chart-title">
            <h3>Breaker state</h3>
            <span className="unit">
              <Link href={`/upstreams/${d.scope.id}`}>upstream {d.scope.id} →</Link>
            </span>
          </div>
          <BreakerStrip spans={up.data?.breakerStrip ?? []} from={from} to={to} />
        </section>
      )}
      <RequestsChart points={points} from={from} to={to} />
      <ErrorRateChart
        points={points.map((p) => ({ t: p.t, errorRate: p.total > 0 ? p.errorRate * 100 : null }))}
        from={from}
        to={to}
        thresholdPercent={th?.failureRatePercent}
      />
      <LatencyChart
        points={points}
        from={from}
        to={to}
        slowCallMs={th?.slowCallDurationMs ?? rt.data?.slo?.latencyThresholdMs}
      />
    </div>
  );
}

function IncidentActions({ d }: { d: IncidentData }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const canAct = useCan("operator");
  const noteId = useId();
  const summaryId = useId();
  const [note, setNote] = useState("");
  const [summary, setSummary] = useState("");
  const refresh = () => qc.invalidateQueries();
  const ack = useMutation(trpc.incidents.acknowledge.mutationOptions({ onSuccess: refresh }));
  const annotate = useMutation(
    trpc.incidents.annotate.mutationOptions({
      onSuccess: async () => {
        setNote("");
        await refresh();
      },
    }),
  );
  const resolve = useMutation(trpc.incidents.resolve.mutationOptions({ onSuccess: refresh }));
  if (!canAct)
    return <p className="muted small">Operators can acknowledge, annotate and resolve.</p>;
  const inc = d.incident;
  const err = ack.error ?? annotate.error ?? resolve.error;
  return (
    <div className="panel stack" style={{ width: 380 }}>
      {inc.status === "open" && (
        <button
          type="button"
          className="primary"
          disabled={ack.isPending}
          onClick={() => ack.mutate({ id: inc.id })}
        >
          ◐ Acknowledge
        </button>
      )}
      <form
        className="stack"
        style={{ gap: 6 }}
        onSubmit={(e) => {
          e.preventDefault();
          if (note.trim()) annotate.mutate({ id: inc.id, body: note.trim() });
        }}
      >
        <label htmlFor={noteId}>Note</label>
        <textarea
          id={noteId}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          placeholder="What you saw or did"
        />
        <div className="actions">
          <button type="submit" disabled={!note.trim() || annotate.isPending}>
            Add note
          </button>
        </div>
      </form>
      {inc.status !== "resolved" && (
        <form
          className="stack"
          style={{ gap: 6 }}
          onSubmit={(e) => {
            e.preventDefault();
            if (summary.trim()) resolve.mutate({ id: inc.id, summary: summary.trim() });
          }}
        >
          <label htmlFor={summaryId}>Resolution summary</label>
          <textarea
            id={summaryId}
            value={summary}
            onChange={(e) => setSummary(e.target.value)}
            placeholder="Cause and fix"
          />
          <div className="actions">
            <button
              type="submit"
              className="danger"
              disabled={!summary.trim() || resolve.isPending}
            >
              ✓ Resolve
            </button>
          </div>
        </form>
      )}
      {err && (
        <div role="alert" className="alert error">
          {errorText(err)}
        </div>
      )}
    </div>
  );
}
