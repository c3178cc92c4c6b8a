/**
 * Incidents open from signals in the event stream (breaker open, SLO burn, every endpoint of
 * an upstream unhealthy, an operator switching to degraded/read-only), gather every related
 * event, operator action and note as one timeline, and close after a quiet period.
 */
import type { ResilienceEvent } from "@rg/core";
import { and, asc, desc, eq, gte, inArray, lte, ne, or, sql } from "drizzle-orm";
import { appendAudit, toEntry, type AuditEntry } from "./audit";
import { readModes } from "./config";
import { insertEvents, readEvents, type StoredEvent } from "./events";
import { readCircuitStates } from "./live";
import { audit, incidentNotes, incidents } from "./schema";
import { writeTx, type Store } from "./store";

export type IncidentScopeKind = "upstream" | "route" | "gateway";
export type IncidentStatus = "open" | "acknowledged" | "resolved";
export type Incident = typeof incidents.$inferSelect;
export type IncidentNote = typeof incidentNotes.$inferSelect;

/** Instance name recorded on events the store itself appends. */
export const STORE_INSTANCE = "store";

interface Signal {
  kind: IncidentScopeKind;
  id: string;
  trigger: string;
  title: string;
  at: number;
}

/** The incident an event opens (or extends), if any. */
export function incidentSignal(e: ResilienceEvent): Signal | undefined {
  switch (e.type) {
    case "breaker.transition":
      if (e.to === "open" || e.to === "forced_open")
        return {
          kind: "upstream",
          id: e.upstream,
          trigger: e.to === "open" ? `breaker_open:${e.reason.trigger}` : "breaker_forced_open",
          title:
            e.to === "open"
              ? `Circuit open on ${e.upstream} (${e.reason.trigger.replace(/_/g, " ")})`
              : `Circuit forced open on ${e.upstream}`,
          at: e.at,
        };
      return undefined;
    case "slo.burn":
      return {
        kind: "route",
        id: e.route,
        trigger: "slo_burn",
        title: `Error budget burning on ${e.route} (×${e.longBurnRate.toFixed(1)})`,
        at: e.at,
      };
    case "upstream.unavailable":
      return {
        kind: "upstream",
        id: e.upstream,
        trigger: "upstream_unavailable",
        title: `${e.upstream}: ${e.healthy}/${e.total} endpoints healthy`,
        at: e.at,
      };
    case "mode.changed":
      if (e.to === "degraded" || e.to === "read_only")
        return {
          kind: e.scope === "gateway" ? "gateway" : "route",
          id: e.scope === "gateway" ? "gateway" : e.target,
          trigger: `mode_${e.to}`,
          title:
            e.scope === "gateway"
              ? `Gateway switched to ${e.to.replace("_", "-")}`
              : `Route ${e.target} switched to ${e.to.replace("_", "-")}`,
          at: e.at,
        };
      return undefined;
    default:
      return undefined;
  }
}

const GATEWAY_EVENT_TYPES = ["mode.changed", "config.applied", "config.refused"];

/** Scopes an event counts as activity for. */
function scopesOf(e: ResilienceEvent): [IncidentScopeKind, string][] {
  const out: [IncidentScopeKind, string][] = [];
  if (e.upstream !== undefined) out.push(["upstream", e.upstream]);
  if (e.route !== undefined) out.push(["route", e.route]);
  if (e.type === "mode.changed") {
    if (e.scope === "gateway") out.push(["gateway", "gateway"]);
    else out.push(["route", e.target]);
  } else if (GATEWAY_EVENT_TYPES.includes(e.type)) out.push(["gateway", "gateway"]);
  return out;
}

const unresolved = ne(incidents.status, "resolved");

/**
 * Open or extend incidents from a batch of events and record activity on open ones. Runs
 * inside the caller's write transaction (the event writer's flush). Returns opened ids.
 */
export function updateIncidentsFromEvents(
  store: Store,
  list: readonly ResilienceEvent[],
  now = Date.now(),
): number[] {
  const opened: number[] = [];
  const openedEvents: ResilienceEvent[] = [];
  let anyOpen: boolean | undefined;
  const activity = new Map<string, number>();
  for (const e of list) {
    const sig = incidentSignal(e);
    if (sig) {
      const existing = store.db
        .select({ id: incidents.id })
        .from(incidents)
        .where(and(eq(incidents.scopeKind, sig.kind), eq(incidents.scopeId, sig.id), unresolved))
        .get();
      if (!existing) {
        const at = Math.min(sig.at, now);
        const row = store.db
          .insert(incidents)
          .values({
            scopeKind: sig.kind,
            scopeId: sig.id,
            trigger: sig.trigger,
            title: sig.title,
            status: "open",
            openedAt: at,
            lastActivityAt: sig.at,
          })
          .returning({ id: incidents.id })
          .get();
        opened.push(row.id);
        anyOpen = true;
        openedEvents.push({
          type: "incident.opened",
          at,
          incidentId: row.id,
          trigger: sig.trigger,
          ...(sig.kind === "upstream" ? { upstream: sig.id } : {}),
          ...(sig.kind === "route" ? { route: sig.id } : {}),
        });
      }
    }
    if (e.type === "incident.opened" || e.type === "incident.closed") continue;
    anyOpen ??=
      store.db.select({ id: incidents.id }).from(incidents).where(unresolved).get() !== undefined;
    if (!anyOpen) continue;
    for (const [kind, id] of scopesOf(e)) {
      const k = `${kind}\u0000${id}`;
      activity.set(k, Math.max(activity.get(k) ?? 0, e.at));
    }
  }
  for (const [k, at] of activity) {
    const [kind, id] = k.split("\u0000") as [IncidentScopeKind, string];
    store.db
      .update(incidents)
      .set({ lastActivityAt: sql`max(${incidents.lastActivityAt}, ${at})` })
      .where(and(eq(incidents.scopeKind, kind), eq(incidents.scopeId, id), unresolved))
      .run();
  }
  insertEvents(store, STORE_INSTANCE, openedEvents);
  return opened;
}

const STILL_FAILING = new Set(["open", "half_open", "forced_open"]);

/**
 * Resolve open incidents whose scope saw no related event for `quietMs` and whose cause has
 * cleared (no live breaker of the upstream open; the route or gateway back to normal mode).
 */
export function closeQuietIncidents(
  store: Store,
  opts: { now?: number; quietMs?: number } = {},
): number[] {
  const now = opts.now ?? Date.now();
  const quietMs = opts.quietMs ?? 5 * 60_000;
  const quiet = and(unresolved, lte(incidents.lastActivityAt, now - quietMs));
  // Most runs find nothing: no write lock for them.
  if (!store.db.select({ id: incidents.id }).from(incidents).where(quiet).get()) return [];
  const closed: number[] = [];
  const closedEvents: ResilienceEvent[] = [];
  writeTx(store, () => {
    // Read again under the write lock: activity, a breaker opening or a mode change another
    // connection committed since the check above keeps an incident open.
    const candidates = store.db.select().from(incidents).where(quiet).all();
    const breakers = readCircuitStates(store, now);
    const modes = readModes(store, now);
    for (const inc of candidates) {
      if (inc.scopeKind === "upstream") {
        if (breakers.some((b) => b.upstream === inc.scopeId && STILL_FAILING.has(b.state)))
          continue;
      } else if (inc.scopeKind === "route" && inc.trigger.startsWith("mode_")) {
        if ((modes.routes[inc.scopeId] ?? "normal") !== "normal") continue;
      } else if (inc.scopeKind === "gateway") {
        if (modes.gateway !== "normal") continue;
      }
      const r = store.db
        .update(incidents)
        .set({
          status: "resolved",
          resolvedAt: now,
          resolvedBy: "system",
          summary:
            inc.summary ??
            `Resolved automatically after ${Math.round(quietMs / 60_000)} min without activity`,
        })
        .where(and(eq(incidents.id, inc.id), unresolved))
        .run();
      if (r.changes === 0) continue;
      closed.push(inc.id);
      closedEvents.push({
        type: "incident.closed",
        at: now,
        incidentId: inc.id,
        ...(inc.scopeKind === "upstream" ? { upstream: inc.scopeId } : {}),
        ...(inc.scopeKind === "route" ? { route: inc.scopeId } : {}),
      });
    }
    insertEvents(store, STORE_INSTANCE, closedEvents);
  });
  return closed;
}

/** Open and acknowledged incidents first, then the newest. */
export function listIncidents(
  store: Store,
  opts: { status?: IncidentStatus | readonly IncidentStatus[]; limit?: number } = {},
): Incident[] {
  const statuses =
    opts.status === undefined
      ? undefined
      : Array.isArray(opts.status)
        ? opts.status
        : [opts.status];
  return store.db
    .select()
    .from(incidents)
    .where(statuses ? inArray(incidents.status, [...(statuses as IncidentStatus[])]) : undefined)
    .orderBy(
      sql`CASE ${incidents.status} WHEN 'resolved' THEN 1 ELSE 0 END`,
      desc(incidents.openedAt),
      desc(incidents.id),
    )
    .limit(Math.min(Math.max(opts.limit ?? 100, 1), 1000))
    .all();
}

export function getIncident(
  store: Store,
  id: number,
): (Incident & { notes: IncidentNote[] }) | undefined {
  const inc = store.db.select().from(incidents).where(eq(incidents.id, id)).get();
  if (!inc) return undefined;
  const notes = store.db
    .select()
    .from(incidentNotes)
    .where(eq(incidentNotes.incidentId, id))
    .orderBy(asc(incidentNotes.at), asc(incidentNotes.id))
    .all();
  return { ...inc, notes };
}

export type TimelineItem =
  | { at: number; kind: "event"; id: number; event: StoredEvent }
  | { at: number; kind: "audit"; id: number; audit: AuditEntry }
  | { at: number; kind: "note"; id: number; author: string; body: string };

const KIND_ORDER = { event: 0, audit: 1, note: 2 } as const;

/**
 * Every event of the incident's scope, every audit row and every note from one minute before
 * it opened until it was resolved (or now), in time order.
 */
export function incidentTimeline(
  store: Store,
  id: number,
  opts: { now?: number; limit?: number } = {},
): TimelineItem[] {
  const inc = getIncident(store, id);
  if (!inc) return [];
  const from = inc.openedAt - 60_000;
  const to = inc.resolvedAt ?? opts.now ?? Date.now();
  const limit = opts.limit ?? 5000;
  // The scope's events and the incident's own opened/closed events, each read through the
  // index matching it, then merged (an incident event of the scope comes back from both).
  const window = { from, to };
  const reads =
    inc.scopeKind === "upstream"
      ? [readEvents(store, { ...window, upstream: inc.scopeId }, "asc", limit)]
      : inc.scopeKind === "route"
        ? [readEvents(store, { ...window, route: inc.scopeId }, "asc", limit)]
        : GATEWAY_EVENT_TYPES.map((type) => readEvents(store, { ...window, type }, "asc", limit));
  const ofIncident = (_at: number, _id: number, payload: object) =>
    (payload as { incidentId?: unknown }).incidentId === id;
  for (const type of ["incident.opened", "incident.closed"])
    reads.push(readEvents(store, { ...window, type }, "asc", limit, ofIncident));
  const evs = [...new Map(reads.flat().map((e) => [e.id, e])).values()]
    .sort((a, b) => a.at - b.at || a.id - b.id)
    .slice(0, limit);
  const audits = store.db
    .select()
    .from(audit)
    .where(or(and(gte(audit.at, from), lte(audit.at, to)), eq(audit.target, `incident:${id}`)))
    .orderBy(asc(audit.at), asc(audit.id))
    .limit(limit)
    .all();
  const items: TimelineItem[] = [
    ...evs.map((e) => ({ at: e.at, kind: "event" as const, id: e.id, event: e })),
    ...audits.map((r) => ({ at: r.at, kind: "audit" as const, id: r.id, audit: toEntry(r) })),
    ...inc.notes.map((n) => ({
      at: n.at,
      kind: "note" as const,
      id: n.id,
      author: n.author,
      body: n.body,
    })),
  ];
  return items.sort(
    (a, b) => a.at - b.at || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id - b.id,
  );
}

type IncidentChange = { ok: true; incident: Incident } | { ok: false; error: string };

function changeIncident(
  store: Store,
  id: number,
  fn: (inc: Incident) => Partial<Incident> | string,
  auditRow: (inc: Incident) => Parameters<typeof appendAudit>[1],
): IncidentChange {
  return writeTx(store, () => {
    const inc = store.db.select().from(incidents).where(eq(incidents.id, id)).get();
    if (!inc) return { ok: false, error: `incident ${id} not found` };
    const patch = fn(inc);
    if (typeof patch === "string") return { ok: false, error: patch };
    const updated =
      Object.keys(patch).length > 0
        ? store.db.update(incidents).set(patch).where(eq(incidents.id, id)).returning().get()
        : inc;
    appendAudit(store, auditRow(inc));
    return { ok: true, incident: updated ?? inc };
  });
}

export function acknowledgeIncident(
  store: Store,
  input: { id: number; actor: string; role?: string; reason?: string; now?: number },
): IncidentChange {
  const now = input.now ?? Date.now();
  return changeIncident(
    store,
    input.id,
    (inc) =>
      inc.status === "resolved"
        ? "incident is resolved"
        : inc.status === "acknowledged"
          ? `incident is already acknowledged by ${inc.acknowledgedBy ?? "someone"}`
          : { status: "acknowledged", acknowledgedBy: input.actor, acknowledgedAt: now },
    (inc) => ({
      actor: input.actor,
      role: input.role ?? "operator",
      action: "incident.acknowledge",
      target: `incident:${input.id}`,
      before: inc.status,
      after: "acknowledged",
      reason: input.reason ?? "acknowledged",
      at: now,
    }),
  );
}

export function annotateIncident(
  store: Store,
  input: { id: number; author: string; body: string; role?: string; now?: number },
): { ok: true; noteId: number } | { ok: false; error: string } {
  const now = input.now ?? Date.now();
  if (input.body.trim() === "") return { ok: false, error: "a note needs a body" };
  return writeTx(store, () => {
    const inc = store.db
      .select({ id: incidents.id })
      .from(incidents)
      .where(eq(incidents.id, input.id))
      .get();
    if (!inc) return { ok: false as const, error: `incident ${input.id} not found` };
    const note = store.db
      .insert(incidentNotes)
      .values({ incidentId: input.id, author: input.author, body: input.body, at: now })
      .returning({ id: incidentNotes.id })
      .get();
    store.db
      .update(incidents)
      .set({ lastActivityAt: sql`max(${incidents.lastActivityAt}, ${now})` })
      .where(and(eq(incidents.id, input.id), unresolved))
      .run();
    appendAudit(store, {
      actor: input.author,
      role: input.role ?? "operator",
      action: "incident.note",
      target: `incident:${input.id}`,
      after: input.body,
      reason: "note",
      at: now,
    });
    return { ok: true as const, noteId: note.id };
  });
}

export function resolveIncident(
  store: Store,
  input: { id: number; actor: string; summary: string; role?: string; now?: number },
): IncidentChange {
  const now = input.now ?? Date.now();
  return changeIncident(
    store,
    input.id,
    (inc) =>
      inc.status === "resolved"
        ? "incident is already resolved"
        : { status: "resolved", resolvedBy: input.actor, resolvedAt: now, summary: input.summary },
    (inc) => ({
      actor: input.actor,
      role: input.role ?? "operator",
      action: "incident.resolve",
      target: `incident:${input.id}`,
      before: inc.status,
      after: "resolved",
      reason: input.summary || "resolved",
      at: now,
    }),
  );
}
