"use client";
import type { Config } from "@rg/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { BreakerBadge, ModeBadge } from "~/components/badges";
import { DiffTable } from "~/components/diff-table";
import { QueryError } from "~/components/errors";
import { ModeControl } from "~/components/mode-control";
import { Ago } from "~/components/time";
import { diffValues } from "~/lib/diff";
import { formatValue } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { ActionSection } from "./action";
import { GROUPS, changedFields, groupById, groupPath, mergeEdits, targetsFor } from "./groups";
import { useDebounced } from "./use-debounced";

export function ControlsView() {
  const trpc = useTRPC();
  const cfg = useQuery({ ...trpc.config.get.queryOptions(), refetchInterval: 2000 });
  // While the stored config does not validate, the forms are built from the last valid one;
  // the server refuses changes that leave it invalid, naming the overrides to clear.
  const config = cfg.data?.config ?? cfg.data?.lastValid?.config;
  const invalid = new Map((cfg.data?.invalidOverrides ?? []).map((o) => [o.path, o.issues]));
  const overrides = <Overrides overrides={cfg.data?.overrides ?? []} invalid={invalid} />;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Controls</h1>
          <p>
            Every change needs a reason, is validated before it is stored, and is written to the
            audit log. {cfg.data ? `Current revision ${cfg.data.revision}.` : ""}
          </p>
        </div>
      </div>
      {cfg.error && <QueryError error={cfg.error} />}
      {cfg.data?.issues && (
        <InvalidConfigBanner
          issues={cfg.data.issues}
          invalid={cfg.data.invalidOverrides}
          lastValid={cfg.data.lastValid}
        />
      )}
      {cfg.data?.issues && overrides}
      {config && (
        <>
          <ThresholdEditor config={config} revision={cfg.data?.revision ?? 0} />
          <ModesSection config={config} />
          <div className="grid-2">
            <ForceBreaker config={config} />
            <FaultInjection config={config} />
          </div>
          <div className="grid-2">
            <ShiftWeights config={config} />
            <ShiftTraffic config={config} />
          </div>
        </>
      )}
      {cfg.data && !cfg.data.issues && overrides}
    </>
  );
}

/** What to clear for the stored config to validate again, and what the forms show meanwhile. */
function InvalidConfigBanner({
  issues,
  invalid,
  lastValid,
}: {
  issues: readonly { path: string; message: string }[];
  invalid: readonly { path: string; issues: readonly string[] }[];
  lastValid: { until: number | null; source: "history" | "bootstrap" } | null;
}) {
  return (
    <section
      role="alert"
      className="banner tone-bad"
      aria-label="The stored config does not validate"
    >
      <div className="grow">
        <strong>The stored config does not validate</strong>
        <p style={{ margin: "4px 0" }}>
          The gateway keeps serving the last valid config.{" "}
          {invalid.length > 0
            ? "Clear the live overrides that no longer apply (marked under Live overrides); until then, other changes are refused."
            : "No live override causes it: fix the bootstrap config file."}
        </p>
        <ul style={{ margin: 0, paddingLeft: 18 }}>
          {invalid.length > 0
            ? invalid.map((o) => (
                <li key={o.path}>
                  <span className="mono">{o.path}</span>: {o.issues.join("; ")}
                </li>
              ))
            : issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  {i.path ? `${i.path}: ${i.message}` : i.message}
                </li>
              ))}
        </ul>
        {lastValid && (
          <p className="muted small" style={{ margin: "4px 0 0" }}>
            The controls below show{" "}
            {lastValid.source === "bootstrap" ? (
              "the bootstrap config alone"
            ) : (
              <>
                the last valid config
                {lastValid.until !== null && (
                  <>
                    {" "}
                    (in effect until <Ago at={lastValid.until} />)
                  </>
                )}
              </>
            )}
            .
          </p>
        )}
      </div>
    </section>
  );
}

function Select({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: readonly { value: string; label: string }[];
  onChange: (v: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function NumberField({
  label,
  unit,
  value,
  onChange,
  error,
  min,
  max,
}: {
  label: string;
  unit?: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  min?: number;
  max?: number;
}) {
  const id = useId();
  const errId = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {label} {unit && <span className="hint">({unit})</span>}
      </label>
      <input
        id={id}
        inputMode="decimal"
        value={value}
        min={min}
        max={max}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errId : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {error && (
        <span id={errId} className="error">
          {error}
        </span>
      )}
    </div>
  );
}

const opts = (ids: readonly string[]) => ids.map((v) => ({ value: v, label: v }));

function ThresholdEditor({ config, revision }: { config: Config; revision: number }) {
  const trpc = useTRPC();
  const [groupId, setGroupId] = useState("breaker");
  const g = groupById(groupId);
  const targets = targetsFor(config, g);
  const [target, setTarget] = useState(targets[0] ?? "");
  const tgt = targets.includes(target) ? target : (targets[0] ?? "");
  const [edits, setEditsState] = useState<Record<string, string>>({});
  // The revision the values were read at when editing began: the server refuses the change
  // (CONFLICT) when another operator changed these settings since.
  const [baseRevision, setBaseRevision] = useState<number | null>(null);
  const setEdits = (next: (e: Record<string, string>) => Record<string, string>) => {
    setBaseRevision((b) => b ?? revision);
    setEditsState(next);
  };
  const resetEdits = () => {
    setBaseRevision(null);
    setEditsState({});
  };
  const path = groupPath(g, tgt);
  const owner = g.owner === "upstream" ? config.upstreams[tgt] : config.routes[tgt];
  const current = ((owner as Record<string, unknown> | undefined)?.[g.sub] ?? {}) as Record<
    string,
    unknown
  >;
  const next = mergeEdits(current, edits);
  const dirty = Object.keys(edits).length > 0;
  const debounced = useDebounced({ path, value: next }, 250);
  const preview = useQuery({
    ...trpc.config.preview.queryOptions(debounced),
    enabled: dirty && tgt !== "",
  });
  const setFields = useMutation(trpc.controls.setFields.mutationOptions());
  const issues = dirty ? (preview.data?.issues ?? []) : [];
  const fieldError = (key: string) =>
    issues
      .filter((i) => i.path === `${path}.${key}` || i.path.startsWith(`${path}.${key}.`))
      .map((i) => i.message)
      .join("; ") || undefined;
  const otherIssues = issues.filter(
    (i) => !g.fields.some((f) => i.path.startsWith(`${path}.${f.key}`)),
  );
  const previewFresh =
    preview.data !== undefined &&
    !preview.isFetching &&
    JSON.stringify(debounced) === JSON.stringify({ path, value: next });
  const changed = diffValues(current, next).length > 0;
  return (
    <ActionSection
      title="Thresholds and timeouts"
      description="Values are checked against the config schema as you type; the diff shows exactly what will change."
      confirmLabel="Apply change"
      canSubmit={dirty && changed && previewFresh && preview.data?.ok === true}
      run={async ({ reason, ttlMs }) => {
        const r = await setFields.mutateAsync({
          path,
          fields: changedFields(current, edits),
          baseRevision: baseRevision ?? revision,
          reason,
          ttlMs,
        });
        resetEdits();
        return r;
      }}
    >
      <div className="form-grid">
        <Select
          label="Setting group"
          value={g.id}
          options={GROUPS.map((x) => ({ value: x.id, label: `${x.label} (per ${x.owner})` }))}
          onChange={(v) => {
            setGroupId(v);
            resetEdits();
          }}
        />
        <Select
          label={g.owner === "upstream" ? "Upstream" : "Route"}
          value={tgt}
          options={opts(targets)}
          onChange={(v) => {
            setTarget(v);
            resetEdits();
          }}
        />
      </div>
      <div className="form-grid">
        {g.fields.map((f) => (
          <NumberField
            key={`${path}.${f.key}`}
            label={f.label}
            unit={f.unit}
            value={edits[f.key] ?? formatValue(current[f.key])}
            error={fieldError(f.key)}
            onChange={(v) => setEdits((e) => ({ ...e, [f.key]: v }))}
          />
        ))}
      </div>
      {otherIssues.length > 0 && (
        <div role="alert" className="alert error">
          {otherIssues.map((i) => `${i.path}: ${i.message}`).join("; ")}
        </div>
      )}
      {dirty && (
        <div>
          <h3 style={{ marginBottom: 6 }}>Before → after</h3>
          {preview.data?.ok ? (
            <DiffTable before={current} after={next} basePath={path} />
          ) : preview.data ? (
            <p className="muted small">Fix the highlighted values to see the change.</p>
          ) : (
            <p className="muted small">Checking…</p>
          )}
        </div>
      )}
    </ActionSection>
  );
}

function ModesSection({ config }: { config: Config }) {
  return (
    <section className="panel stack" aria-labelledby="modes-h">
      <div>
        <h2 id="modes-h">Modes</h2>
        <p className="muted small" style={{ margin: "4px 0 0" }}>
          Read-only answers writes with 503 and lets reads through; degraded serves non-critical
          routes from cache and fallbacks.
        </p>
      </div>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Scope</th>
              <th scope="col">Now</th>
              <th scope="col">Switch to</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                <strong>Gateway</strong> <span className="muted small">(every route)</span>
              </td>
              <td>
                <ModeBadge mode={config.gateway.mode} />
              </td>
              <td>
                <ModeControl scope="gateway" current={config.gateway.mode} />
              </td>
            </tr>
            {Object.entries(config.routes).map(([id, r]) => (
              <tr key={id}>
                <td>
                  Route <strong>{id}</strong>
                </td>
                <td>
                  <ModeBadge mode={r.mode} />
                </td>
                <td>
                  <ModeControl scope="route" target={id} current={r.mode} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

const FORCED = [
  { value: "none", label: "Release (normal operation)" },
  { value: "forced_open", label: "Force open (block all calls)" },
  { value: "forced_closed", label: "Force closed (never trip)" },
  { value: "shadow", label: "Shadow (evaluate, never block)" },
] as const;

function ForceBreaker({ config }: { config: Config }) {
  const trpc = useTRPC();
  const ups = Object.keys(config.upstreams).sort();
  const [upstream, setUpstream] = useState(ups[0] ?? "");
  const [state, setState] = useState<(typeof FORCED)[number]["value"]>("forced_open");
  const m = useMutation(trpc.controls.forceBreaker.mutationOptions());
  const current = config.upstreams[upstream]?.circuitBreaker.forcedState ?? "none";
  return (
    <ActionSection
      title="Force a breaker"
      description="Hold a breaker open or closed, or let it run in shadow mode."
      confirmLabel="Apply breaker state"
      danger={state === "forced_open"}
      canSubmit={state !== current}
      run={({ reason, ttlMs }) => m.mutateAsync({ upstream, state, reason, ttlMs })}
    >
      <div className="form-grid">
        <Select label="Upstream" value={upstream} options={opts(ups)} onChange={setUpstream} />
        <Select
          label="Breaker state"
          value={state}
          options={FORCED}
          onChange={(v) => setState(v as typeof state)}
        />
      </div>
      <p className="small" style={{ margin: 0 }}>
        Operator setting now:{" "}
        {current === "none" ? (
          <span className="muted">none</span>
        ) : (
          <BreakerBadge state={current} />
        )}
      </p>
    </ActionSection>
  );
}

function ShiftWeights({ config }: { config: Config }) {
  const trpc = useTRPC();
  const ups = Object.keys(config.upstreams).sort();
  const [upstream, setUpstream] = useState(ups[0] ?? "");
  const endpoints = config.upstreams[upstream]?.endpoints ?? {};
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [duration, setDuration] = useState("30000");
  const m = useMutation(trpc.controls.shiftWeights.mutationOptions());
  const parsed = Object.fromEntries(
    Object.entries(endpoints).map(([id, e]) => [id, Number(weights[id] ?? e.weight)]),
  );
  const valid =
    Object.values(parsed).every((w) => Number.isInteger(w) && w >= 0 && w <= 1000) &&
    Number.isInteger(Number(duration));
  return (
    <ActionSection
      title="Shift endpoint weights"
      description="Move traffic between an upstream's endpoints gradually over the duration."
      confirmLabel="Shift weights"
      withExpiry={false}
      canSubmit={valid}
      run={async ({ reason }) => {
        const r = await m.mutateAsync({
          upstream,
          weights: parsed,
          durationMs: Number(duration),
          reason,
        });
        setWeights({});
        return r;
      }}
    >
      <div className="form-grid">
        <Select
          label="Upstream"
          value={upstream}
          options={opts(ups)}
          onChange={(v) => {
            setUpstream(v);
            setWeights({});
          }}
        />
        <NumberField label="Over" unit="ms" value={duration} onChange={setDuration} />
      </div>
      <div className="form-grid">
        {Object.entries(endpoints).map(([id, e]) => (
          <NumberField
            key={`${upstream}.${id}`}
            label={`Weight of ${id}`}
            unit="0–1000"
            value={weights[id] ?? String(e.weight)}
            error={
              Number.isInteger(parsed[id]) && parsed[id]! >= 0 && parsed[id]! <= 1000
                ? undefined
                : "a whole number from 0 to 1000"
            }
            onChange={(v) => setWeights((w) => ({ ...w, [id]: v }))}
          />
        ))}
      </div>
    </ActionSection>
  );
}

function ShiftTraffic({ config }: { config: Config }) {
  const trpc = useTRPC();
  const routes = Object.keys(config.routes).sort();
  const ups = Object.keys(config.upstreams).sort();
  const [route, setRoute] = useState(routes[0] ?? "");
  const r = config.routes[route];
  const [to, setTo] = useState(r?.fallback?.upstream ?? ups[0] ?? "");
  const [percent, setPercent] = useState("100");
  const [duration, setDuration] = useState("30000");
  const m = useMutation(trpc.controls.shiftTraffic.mutationOptions());
  const p = Number(percent);
  const pOk = Number.isFinite(p) && p >= 0 && p <= 100;
  return (
    <ActionSection
      title="Shift traffic to another upstream"
      description={
        r?.shift
          ? `Now: ${r.shift.percent}% of ${route} goes to ${r.shift.to}.`
          : "E.g. send a route's traffic to its fallback upstream, ramping over the duration."
      }
      confirmLabel="Shift traffic"
      withExpiry={false}
      canSubmit={pOk && to !== "" && to !== r?.upstream}
      run={({ reason }) =>
        m.mutateAsync({ route, to, percent: p, durationMs: Number(duration), reason })
      }
    >
      <div className="form-grid">
        <Select
          label="Route"
          value={route}
          options={opts(routes)}
          onChange={(v) => {
            setRoute(v);
            setTo(config.routes[v]?.fallback?.upstream ?? to);
          }}
        />
        <Select
          label="To upstream"
          value={to}
          options={opts(ups.filter((u) => u !== r?.upstream))}
          onChange={setTo}
        />
        <NumberField
          label="Share"
          unit="%"
          value={percent}
          onChange={setPercent}
          error={pOk ? undefined : "0 to 100"}
        />
        <NumberField label="Ramp over" unit="ms" value={duration} onChange={setDuration} />
      </div>
    </ActionSection>
  );
}

function FaultInjection({ config }: { config: Config }) {
  const trpc = useTRPC();
  const routes = Object.keys(config.routes).sort();
  const [route, setRoute] = useState(routes[0] ?? "");
  const fi = config.routes[route]?.faultInjection;
  const [v, setV] = useState<Record<string, string>>({});
  const val = (k: "delayPercent" | "delayMs" | "abortPercent" | "abortStatus") =>
    v[k] ?? String(fi?.[k] ?? 0);
  const num = (k: "delayPercent" | "delayMs" | "abortPercent" | "abortStatus") => Number(val(k));
  const active = (fi?.delayPercent ?? 0) > 0 || (fi?.abortPercent ?? 0) > 0;
  const m = useMutation(trpc.controls.setFaultInjection.mutationOptions());
  return (
    <ActionSection
      title="Fault injection"
      description={
        active
          ? `Active on ${route}: ${fi?.delayPercent}% delayed by ${fi?.delayMs} ms, ${fi?.abortPercent}% aborted with ${fi?.abortStatus}.`
          : "Delay or abort a share of a route's requests to rehearse failures. Set both shares to 0 to turn it off."
      }
      confirmLabel="Apply fault injection"
      run={async ({ reason, ttlMs }) => {
        const r = await m.mutateAsync({
          route,
          delayPercent: num("delayPercent"),
          delayMs: num("delayMs"),
          abortPercent: num("abortPercent"),
          abortStatus: num("abortStatus"),
          reason,
          ttlMs,
        });
        setV({});
        return r;
      }}
    >
      <div className="form-grid">
        <Select
          label="Route"
          value={route}
          options={opts(routes)}
          onChange={(x) => {
            setRoute(x);
            setV({});
          }}
        />
        <NumberField
          label="Delay share"
          unit="%"
          value={val("delayPercent")}
          onChange={(x) => setV((s) => ({ ...s, delayPercent: x }))}
        />
        <NumberField
          label="Delay"
          unit="ms"
          value={val("delayMs")}
          onChange={(x) => setV((s) => ({ ...s, delayMs: x }))}
        />
        <NumberField
          label="Abort share"
          unit="%"
          value={val("abortPercent")}
          onChange={(x) => setV((s) => ({ ...s, abortPercent: x }))}
        />
        <NumberField
          label="Abort status"
          unit="HTTP"
          value={val("abortStatus")}
          onChange={(x) => setV((s) => ({ ...s, abortStatus: x }))}
        />
      </div>
    </ActionSection>
  );
}

type OverrideView = {
  id: number;
  path: string;
  value: unknown;
  actor: string;
  reason: string;
  revision: number;
  createdAt: number;
  expiresAt: number | null;
};

function Overrides({
  overrides,
  invalid,
}: {
  overrides: readonly OverrideView[];
  /** Issues by path of the overrides the stored config does not validate with. */
  invalid: ReadonlyMap<string, readonly string[]>;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const clear = useMutation(trpc.controls.clearOverride.mutationOptions());
  const [clearing, setClearing] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  return (
    <section className="panel" aria-labelledby="overrides-h">
      <h2 id="overrides-h">Live overrides</h2>
      {overrides.length === 0 ? (
        <p className="empty">No live overrides: the gateway runs the bootstrap config.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Value</th>
                <th scope="col">By</th>
                <th scope="col">Why</th>
                <th scope="col">Set</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {overrides.map((o) => (
                <tr key={o.id}>
                  <td>
                    <span className="mono">{o.path}</span>
                    {invalid.has(o.path) && (
                      <div className="small tone-text-bad">
                        <span aria-hidden="true">✕ </span>No longer validates:{" "}
                        {invalid.get(o.path)!.join("; ")}
                      </div>
                    )}
                  </td>
                  <td className="mono">{formatValue(o.value)}</td>
                  <td>{o.actor}</td>
                  <td className="small">{o.reason}</td>
                  <td className="small">
                    <Ago at={o.createdAt} /> <span className="muted">(rev {o.revision})</span>
                  </td>
                  <td className="small">{o.expiresAt ? <Ago at={o.expiresAt} /> : "never"}</td>
                  <td>
                    {clearing === o.path ? (
                      <form
                        className="row"
                        onSubmit={(e) => {
                          e.preventDefault();
                          clear.mutate(
                            { path: o.path, reason },
                            {
                              onSuccess: async () => {
                                setClearing(null);
                                await qc.invalidateQueries();
                              },
                            },
                          );
                        }}
                      >
                        <input
                          aria-label={`Reason to clear ${o.path}`}
                          placeholder="reason"
                          value={reason}
                          onChange={(e) => setReason(e.target.value)}
                          required
                        />
                        <button type="submit" disabled={!reason.trim() || clear.isPending}>
                          Confirm
                        </button>
                      </form>
                    ) : (
                      <button
                        type="button"
                        onClick={() => {
                          setReason("");
                          setClearing(o.path);
                        }}
                      >
                        Clear
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {clear.error && <QueryError error={clear.error} />}
    </section>
  );
}
