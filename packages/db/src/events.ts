import type { EventType, ResilienceEvent } from "@rg/core";
import { and, desc, eq, gte, inArray, lt, lte, or, type SQL } from "drizzle-orm";
import { events } from "./schema";
import { writeTx, type Store } from "./store";

export interface StoredEvent {
  id: number;
  at: number;
  instance: string;
  type: EventType;
  route: string | null;
  upstream: string | null;
  event: ResilienceEvent;
}

export const EVENT_INSERT_SQL =
  "INSERT INTO events (at, instance, type, route, upstream, payload) VALUES (?, ?, ?, ?, ?, ?)";

/** Append events in one transaction (the event writer batches through its own statements). */
export function appendEvents(
  store: Store,
  instanceId: string,
  list: readonly ResilienceEvent[],
): number {
  if (list.length === 0) return 0;
  const stmt = store.sqlite.prepare(EVENT_INSERT_SQL);
  return writeTx(store, () => {
    for (const e of list) insertEvent(stmt, instanceId, e);
    return list.length;
  });
}

/**
 * The payload holds the event's own fields; type, at, route and upstream live in their
 * columns only (smaller rows, faster inserts) and are put back on read.
 */
export function insertEvent(
  stmt: { run(...params: unknown[]): unknown },
  instanceId: string,
  e: ResilienceEvent,
): void {
  stmt.run(e.at, instanceId, e.type, e.route ?? null, e.upstream ?? null, payloadOf(e));
}

/** The event's own fields as JSON (a copy loop: object rest costs about twice as much). */
function payloadOf(e: ResilienceEvent): string {
  const rest: Record<string, unknown> = {};
  for (const k in e) {
    if (k === "type" || k === "at" || k === "route" || k === "upstream") continue;
    rest[k] = (e as unknown as Record<string, unknown>)[k];
  }
  return JSON.stringify(rest);
}

export interface EventQuery {
  from?: number;
  to?: number;
  types?: readonly string[];
  route?: string;
  upstream?: string;
  instance?: string;
  limit?: number;
  /** Return only events after this one in the order (the next, older page). */
  beforeId?: number;
}

/** Events newest first. */
export function queryEvents(store: Store, q: EventQuery = {}): StoredEvent[] {
  const limit = Math.min(Math.max(q.limit ?? 200, 1), 10_000);
  const where: SQL[] = [];
  if (q.from !== undefined) where.push(gte(events.at, q.from));
  if (q.to !== undefined) where.push(lte(events.at, q.to));
  if (q.types && q.types.length > 0) where.push(inArray(events.type, [...q.types]));
  if (q.route !== undefined) where.push(eq(events.route, q.route));
  if (q.upstream !== undefined) where.push(eq(events.upstream, q.upstream));
  if (q.instance !== undefined) where.push(eq(events.instance, q.instance));
  if (q.beforeId !== undefined) {
    // Page on (at, id), the sort order, so events inserted out of time order are neither
    // skipped nor repeated.
    const cursor = store.db
      .select({ at: events.at })
      .from(events)
      .where(eq(events.id, q.beforeId))
      .get();
    where.push(
      cursor
        ? or(lt(events.at, cursor.at), and(eq(events.at, cursor.at), lt(events.id, q.beforeId)))!
        : lt(events.id, q.beforeId),
    );
  }
  return store.db
    .select()
    .from(events)
    .where(and(...where))
    .orderBy(desc(events.at), desc(events.id))
    .limit(limit)
    .all()
    .map(toStoredEvent);
}

export function toStoredEvent(r: typeof events.$inferSelect): StoredEvent {
  return {
    id: r.id,
    at: r.at,
    instance: r.instance,
    type: r.type as EventType,
    route: r.route,
    upstream: r.upstream,
    event: {
      type: r.type,
      at: r.at,
      ...(r.route !== null ? { route: r.route } : {}),
      ...(r.upstream !== null ? { upstream: r.upstream } : {}),
      ...(JSON.parse(r.payload) as object),
    } as ResilienceEvent,
  };
}
