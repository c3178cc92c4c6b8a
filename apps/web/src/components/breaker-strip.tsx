import { breakerMeta, layoutStrip, type StripSpan } from "../lib/breaker";
import { formatClock, formatDuration } from "../lib/format";

/** Breaker state over a time range, as coloured and patterned segments with a legend. */
export function BreakerStrip({
  spans,
  from,
  to,
  label = "Breaker state over time",
}: {
  spans: readonly StripSpan[];
  from: number;
  to: number;
  label?: string;
}) {
  const segments = layoutStrip(spans, from, to);
  const states = [...new Set(segments.map((s) => String(s.state)))];
  const summary = segments
    .map((s) => `${breakerMeta(s.state).label} ${formatClock(s.from)}–${formatClock(s.to)}`)
    .join(", ");
  return (
    <figure style={{ margin: 0 }}>
      <div className="strip" role="img" aria-label={`${label}: ${summary}`}>
        {segments.map((s) => {
          const m = breakerMeta(s.state);
          return (
            <span
              key={`${s.from}-${s.state}`}
              className={`tone-${m.tone}`}
              style={{ left: `${s.left}%`, width: `${Math.max(s.width, 0.3)}%` }}
              title={`${m.label} for ${formatDuration(s.to - s.from)} from ${formatClock(s.from)}`}
            />
          );
        })}
      </div>
      <figcaption className="legend">
        {states.map((st) => {
          const m = breakerMeta(st);
          return (
            <span key={st}>
              <span className={`swatch strip-swatch tone-${m.tone}`} aria-hidden="true" />
              {m.icon} {m.label}
            </span>
          );
        })}
        <span className="muted">
          {formatClock(from)} – {formatClock(to)} UTC
        </span>
      </figcaption>
    </figure>
  );
}
