/**
 * Resilience events as timeline entries: an icon and tone by kind, and one sentence that says
 * what happened in an operator's words.
 */
import type { ResilienceEvent } from "@rg/core";
import { breakerMeta, describeReason, modeMeta, type Tone } from "./breaker";
import { formatBurn, formatDuration, formatPercent } from "./format";

export interface EventView {
  icon: string;
  tone: Tone;
  /** Short category shown next to the icon. */
  kind: string;
  text: string;
}

/** Accepts a stored event of any type; unknown types still render. */
export function describeEvent(
  e: ResilienceEvent | ({ type: string } & Record<string, unknown>),
): EventView {
  const ev = e as ResilienceEvent;
  const where = ev.upstream ?? ev.route ?? "";
  switch (ev.type) {
    case "breaker.transition": {
      const to = breakerMeta(ev.to);
      const why = describeReason(ev.reason);
      return {
        icon: to.icon,
        tone: to.tone,
        kind: "breaker",
        text: `Breaker ${ev.upstream} ${breakerMeta(ev.from).label.toLowerCase()} → ${to.label.toLowerCase()}${why ? `: ${why}` : ""}`,
      };
    }
    case "breaker.shadow_trip":
      return {
        icon: "◌",
        tone: "info",
        kind: "breaker",
        text: `Shadow breaker ${ev.upstream} would have opened: ${describeReason(ev.reason) ?? ""}`,
      };
    case "breaker.rejected":
      return {
        icon: "✕",
        tone: "bad",
        kind: "breaker",
        text: `Call to ${ev.upstream} rejected (breaker ${breakerMeta(ev.state).label.toLowerCase()})`,
      };
    case "outlier.ejected":
      return {
        icon: "⏏",
        tone: "bad",
        kind: "ejection",
        text: `Endpoint ${ev.upstream}/${ev.endpoint} ejected for ${formatDuration(ev.ejectionMs)}: ${ev.reason}`,
      };
    case "outlier.restored":
      return {
        icon: "↺",
        tone: "ok",
        kind: "ejection",
        text: `Endpoint ${ev.upstream}/${ev.endpoint} back in rotation`,
      };
    case "health.changed":
      return {
        icon: ev.healthy ? "●" : "✕",
        tone: ev.healthy ? "ok" : "bad",
        kind: "health",
        text: `Endpoint ${ev.upstream}/${ev.endpoint} ${ev.healthy ? "healthy" : "unhealthy"}: ${ev.reason}`,
      };
    case "upstream.unavailable":
      return {
        icon: "⚠",
        tone: "bad",
        kind: "health",
        text: `${ev.upstream}: ${ev.healthy} of ${ev.total} endpoints healthy`,
      };
    case "mode.changed": {
      const to = modeMeta(ev.to);
      const scope = ev.scope === "gateway" ? "Gateway" : `Route ${ev.target}`;
      return {
        icon: to.icon,
        tone: to.tone,
        kind: "mode",
        text: `${scope} mode ${modeMeta(ev.from).label} → ${to.label}`,
      };
    }
    case "slo.burn":
      return {
        icon: "▲",
        tone: "bad",
        kind: "slo",
        text: `Route ${ev.route} burning error budget: ${formatBurn(ev.longBurnRate)} (1 h), ${formatBurn(ev.shortBurnRate)} (5 min) ≥ ${formatBurn(ev.threshold)}; ${ev.budgetRemaining > 0 ? `${formatPercent(ev.budgetRemaining * 100)} left` : "budget exhausted"}`,
      };
    case "config.applied":
      return {
        icon: "✓",
        tone: "ok",
        kind: "config",
        text: `Gateway applied config revision ${ev.revision}`,
      };
    case "config.refused":
      return {
        icon: "✕",
        tone: "bad",
        kind: "config",
        text: `Gateway refused revision ${ev.revision}: ${ev.errors.join("; ")}`,
      };
    case "runbook.step":
      return {
        icon: ev.status === "failed" ? "✕" : ev.status === "done" ? "✓" : "▶",
        tone: ev.status === "failed" ? "bad" : ev.status === "done" ? "ok" : "info",
        kind: "runbook",
        text: `Runbook ${ev.runbook} step ${ev.step + 1} ${ev.status}${ev.detail ? `: ${ev.detail}` : ""}`,
      };
    case "incident.opened":
      return { icon: "⚑", tone: "bad", kind: "incident", text: `Incident opened (${ev.trigger})` };
    case "incident.closed":
      return { icon: "⚐", tone: "ok", kind: "incident", text: "Incident closed" };
    case "retry.budget_exhausted":
      return { icon: "↻", tone: "warn", kind: "retry", text: `Retry budget exhausted on ${where}` };
    case "retry.scheduled":
      return {
        icon: "↻",
        tone: "muted",
        kind: "retry",
        text: `Retry ${ev.attempt} after ${ev.after} in ${formatDuration(ev.delayMs)}`,
      };
    case "fallback.served":
      return {
        icon: "⤷",
        tone: "warn",
        kind: "fallback",
        text: `Served ${ev.source.replace("_", " ")} on ${where} after ${ev.after}`,
      };
    case "ratelimit.rejected":
      return {
        icon: "⏸",
        tone: "warn",
        kind: "rate limit",
        text: `Consumer ${ev.consumer} rate-limited (${ev.tier}, ${ev.limit}/window)`,
      };
    case "ratelimit.adapted":
      return {
        icon: "⇅",
        tone: "warn",
        kind: "rate limit",
        text: `Rate limit factor ${ev.from} → ${ev.to} on ${where}: ${ev.because}`,
      };
    case "bulkhead.rejected":
      return {
        icon: "▣",
        tone: "warn",
        kind: "bulkhead",
        text: `Bulkhead rejected a call on ${where} (${ev.reason.replace("_", " ")})`,
      };
    case "deadline.exceeded":
      return {
        icon: "⌛",
        tone: "warn",
        kind: "timeout",
        text: `Deadline of ${formatDuration(ev.budgetMs)} exceeded on ${where}`,
      };
    case "fault.injected":
      return {
        icon: "⚡",
        tone: "info",
        kind: "fault",
        text: `Injected ${ev.kind} fault (${ev.value}) on ${where}`,
      };
    default:
      return {
        icon: "•",
        tone: "muted",
        kind: "event",
        text: String((e as { type: string }).type),
      };
  }
}
