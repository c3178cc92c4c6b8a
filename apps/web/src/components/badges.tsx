import type { StateMeta } from "../lib/breaker";
import { breakerMeta, modeMeta } from "../lib/breaker";

/** A state shown three ways at once: colour, an icon of its own shape, and words. */
export function Badge({ meta, title }: { meta: StateMeta; title?: string }) {
  return (
    <span className={`badge tone-${meta.tone}`} title={title}>
      <span className="icon" aria-hidden="true">
        {meta.icon}
      </span>
      {meta.label}
    </span>
  );
}

export function BreakerBadge({
  state,
  title,
}: {
  state: string | null | undefined;
  title?: string;
}) {
  return <Badge meta={breakerMeta(state)} title={title} />;
}

export function ModeBadge({ mode }: { mode: string | null | undefined }) {
  return <Badge meta={modeMeta(mode)} />;
}

export function HealthBadge({ healthy, ejected }: { healthy: boolean; ejected?: boolean }) {
  if (ejected) return <Badge meta={{ label: "Ejected", icon: "⊘", tone: "bad" }} />;
  return healthy ? (
    <Badge meta={{ label: "Healthy", icon: "●", tone: "ok" }} />
  ) : (
    <Badge meta={{ label: "Unhealthy", icon: "✕", tone: "bad" }} />
  );
}
