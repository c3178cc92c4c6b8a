/**
 * An incident timeline as people read it: the events that tell the story (transitions,
 * ejections, mode and config changes, runbook steps), operator actions and notes, in order,
 * with per-request noise (each retry, each rejected call) folded into counts.
 */
import type { Tone } from "./breaker";
import { describeEvent } from "./events";
import { diffValues, joinPath } from "./diff";
import { formatValue } from "./format";

/** Event types emitted per request: shown as counts unless asked for. */
export const NOISY_TYPES: ReadonlySet<string> = new Set([
  "breaker.rejected",
  "retry.scheduled",
  "ratelimit.rejected",
  "fallback.served",
  "bulkhead.rejected",
  "deadline.exceeded",
  "fault.injected",
]);

export interface TimelineInput {
  at: number;
  kind: "event" | "audit" | "note";
  id: number;
  event?: { type: string; event: unknown };
  audit?: {
    actor: string;
    action: string;
    target: string;
    reason: string;
    before: unknown;
    after: unknown;
    outcome: string;
  };
  author?: string;
  body?: string;
}

export interface TimelineRow {
  key: string;
  at: number;
  icon: string;
  tone: Tone;
  kind: string;
  text: string;
  by?: string;
}

export interface TimelineView {
  rows: TimelineRow[];
  /** Hidden per-request events by type. */
  hidden: Record<string, number>;
}

export function buildTimeline(items: readonly TimelineInput[], showAll = false): TimelineView {
  const rows: TimelineRow[] = [];
  const hidden: Record<string, number> = {};
  const sorted = [...items].sort((a, b) => a.at - b.at || a.id - b.id);
  for (const it of sorted) {
    if (it.kind === "event" && it.event) {
      const type = it.event.type;
      if (!showAll && NOISY_TYPES.has(type)) {
        hidden[type] = (hidden[type] ?? 0) + 1;
        continue;
      }
      const v = describeEvent(it.event.event as { type: string });
      rows.push({
        key: `e${it.id}`,
        at: it.at,
        icon: v.icon,
        tone: v.tone,
        kind: v.kind,
        text: v.text,
      });
    } else if (it.kind === "audit" && it.audit) {
      const a = it.audit;
      const refused = a.outcome === "refused";
      rows.push({
        key: `a${it.id}`,
        at: it.at,
        icon: refused ? "⊗" : "✎",
        tone: refused ? "warn" : "info",
        kind: "operator",
        text: `${a.action} ${describeChange(a.target, a.before, a.after)}${refused ? " (refused)" : ""} — “${a.reason}”`,
        by: a.actor,
      });
    } else if (it.kind === "note") {
      rows.push({
        key: `n${it.id}`,
        at: it.at,
        icon: "✉",
        tone: "muted",
        kind: "note",
        text: it.body ?? "",
        by: it.author,
      });
    }
  }
  return { rows, hidden };
}

const MAX_CHANGES_SHOWN = 3;

/**
 * An operator action in one line: only the leaves that moved (`path: before → after`), so a
 * change to one threshold inside a whole policy object reads as that one threshold.
 */
export function describeChange(target: string, before: unknown, after: unknown): string {
  const changes = diffValues(before, after);
  if (changes.length === 0) return `${target}: ${formatValue(after)}`;
  const shown = changes
    .slice(0, MAX_CHANGES_SHOWN)
    .map((c) => `${joinPath(target, c.path)}: ${formatValue(c.before)} → ${formatValue(c.after)}`);
  const more = changes.length - shown.length;
  return shown.join("; ") + (more > 0 ? `; +${more} more` : "");
}
