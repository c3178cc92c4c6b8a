"use client";
/**
 * The dashboard's charts (recharts). Every chart states its unit in the title, labels its
 * axes, and draws the threshold that matters next to the measurement.
 */
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { formatClock, formatMs, formatPercent, formatRate, formatTick } from "../lib/format";
import { OUTCOMES, toRates, type CountPoint } from "../lib/series";

const AXIS = { fontSize: 11, fill: "#4a5568" };

function timeAxis(from: number, to: number) {
  const range = to - from;
  return (
    <XAxis
      dataKey="t"
      type="number"
      scale="time"
      domain={[from, to]}
      tickFormatter={(v: number) => formatTick(v, range)}
      tick={AXIS}
      minTickGap={40}
    />
  );
}

function ChartFrame({
  title,
  unit,
  children,
  empty,
}: {
  title: string;
  unit: string;
  children: React.ReactElement;
  empty: boolean;
}) {
  return (
    <figure className="panel" style={{ margin: 0 }} aria-label={`${title} (${unit})`}>
      <div className="chart-title">
        <h3>{title}</h3>
        <span className="unit">{unit}</span>
      </div>
      {empty ? (
        <div className="chart empty">No traffic recorded in this window.</div>
      ) : (
        <div className="chart">
          <ResponsiveContainer width="100%" height="100%">
            {children}
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}

const tooltipLabel = (v: unknown) => (typeof v === "number" ? `${formatClock(v)} UTC` : "");

export function RequestsChart({
  points,
  from,
  to,
}: {
  points: readonly CountPoint[];
  from: number;
  to: number;
}) {
  const data = toRates(points);
  return (
    <ChartFrame title="Requests by outcome" unit="req/s" empty={points.length === 0}>
      <AreaChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid stroke="#edf0f4" vertical={false} />
        {timeAxis(from, to)}
        <YAxis
          tick={AXIS}
          width={48}
          tickFormatter={(v: number) => formatRate(v, { exact: true })}
          label={{ value: "req/s", angle: -90, position: "insideLeft", style: AXIS }}
        />
        <Tooltip
          labelFormatter={tooltipLabel}
          formatter={(v) => formatRate(Number(v), { exact: true })}
        />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        {OUTCOMES.map((o) => (
          <Area
            key={o.key}
            dataKey={o.key}
            name={o.label}
            stackId="1"
            type="monotone"
            stroke={o.color}
            fill={o.color}
            fillOpacity={0.75}
            isAnimationActive={false}
          />
        ))}
      </AreaChart>
    </ChartFrame>
  );
}

export function LatencyChart({
  points,
  from,
  to,
  slowCallMs,
}: {
  points: readonly { t: number; p50: number; p95: number; p99: number; total?: number }[];
  from: number;
  to: number;
  slowCallMs?: number;
}) {
  const data = points.filter((p) => p.total === undefined || p.total > 0);
  return (
    <ChartFrame title="Latency p50 / p95 / p99" unit="ms" empty={data.length === 0}>
      <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid stroke="#edf0f4" vertical={false} />
        {timeAxis(from, to)}
        <YAxis
          tick={AXIS}
          width={48}
          tickFormatter={(v: number) => formatMs(v)}
          domain={[0, (max: number) => Math.max(max, (slowCallMs ?? 0) * 1.1)]}
        />
        <Tooltip labelFormatter={tooltipLabel} formatter={(v) => formatMs(Number(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Line
          dataKey="p50"
          name="p50"
          stroke="#3f9b68"
          dot={{ r: 1.5 }}
          isAnimationActive={false}
        />
        <Line
          dataKey="p95"
          name="p95"
          stroke="#d59a2a"
          dot={{ r: 1.5 }}
          isAnimationActive={false}
        />
        <Line
          dataKey="p99"
          name="p99"
          stroke="#c93c44"
          dot={{ r: 1.5 }}
          isAnimationActive={false}
        />
        {slowCallMs !== undefined && (
          <ReferenceLine
            y={slowCallMs}
            stroke="#17202e"
            strokeDasharray="6 4"
            label={{
              value: `slow-call threshold ${formatMs(slowCallMs)}`,
              position: "insideTopRight",
              fontSize: 11,
              fill: "#17202e",
            }}
          />
        )}
      </LineChart>
    </ChartFrame>
  );
}

export function ErrorRateChart({
  points,
  from,
  to,
  thresholdPercent,
}: {
  points: readonly { t: number; errorRate: number | null }[];
  from: number;
  to: number;
  thresholdPercent?: number;
}) {
  return (
    <ChartFrame title="Error rate" unit="%" empty={points.length === 0}>
      <LineChart
        data={points as { t: number; errorRate: number | null }[]}
        margin={{ top: 4, right: 8, bottom: 0, left: 0 }}
      >
        <CartesianGrid stroke="#edf0f4" vertical={false} />
        {timeAxis(from, to)}
        <YAxis
          tick={AXIS}
          width={48}
          domain={[
            0,
            (max: number) => Math.min(100, Math.max(max * 1.1, (thresholdPercent ?? 0) * 1.1, 1)),
          ]}
          tickFormatter={(v: number) => formatPercent(v)}
        />
        <Tooltip labelFormatter={tooltipLabel} formatter={(v) => formatPercent(Number(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Line
          dataKey="errorRate"
          name="error rate"
          stroke="#c93c44"
          dot={{ r: 1.5 }}
          connectNulls
          isAnimationActive={false}
        />
        {thresholdPercent !== undefined && (
          <ReferenceLine
            y={thresholdPercent}
            stroke="#17202e"
            strokeDasharray="6 4"
            label={{
              value: `breaker threshold ${formatPercent(thresholdPercent)}`,
              position: "insideTopRight",
              fontSize: 11,
              fill: "#17202e",
            }}
          />
        )}
      </LineChart>
    </ChartFrame>
  );
}

/** A 5-minute trend drawn small on each upstream card: req/s as an area, error % as a line. */
export function Sparkline({
  points,
  label,
}: {
  points: readonly { t: number; rps: number; errorRate: number }[];
  label: string;
}) {
  if (points.length === 0)
    return (
      <div className="sparkline muted small" role="img" aria-label={`${label}: no data`}>
        no traffic in the last 5 min
      </div>
    );
  return (
    <div className="sparkline" role="img" aria-label={label}>
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart
          data={points as { t: number; rps: number; errorRate: number }[]}
          margin={{ top: 2, right: 0, bottom: 2, left: 0 }}
        >
          <YAxis yAxisId="rps" hide domain={[0, "auto"]} />
          <YAxis yAxisId="err" hide domain={[0, 100]} orientation="right" />
          <Area
            yAxisId="rps"
            dataKey="rps"
            stroke="#1f5fbf"
            fill="#1f5fbf"
            fillOpacity={0.15}
            isAnimationActive={false}
            type="monotone"
          />
          <Area
            yAxisId="err"
            dataKey="errorRate"
            stroke="#c93c44"
            fill="#c93c44"
            fillOpacity={0.1}
            isAnimationActive={false}
            type="monotone"
          />
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}
