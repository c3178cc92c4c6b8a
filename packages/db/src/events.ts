/**
 * Events are stored in chunks (see `eventChunks` in schema.ts): the events of one insert that
 * share instance, type, route and upstream, sorted by time, as one JSON text. Reads select
 * chunks through an index on their `last_at`, decode them and pick the events, so the public
 * shape (one `StoredEvent` per event, ids rising with insertion order) is as it was with one row
 * per event.
 */
import type { EventType, ResilienceEvent } from "@rg/core";
import { prepared, writeTx, type Store } from "./store";

export interface StoredEvent {
  id: number;
  at: number;
  instance: string;
  type: EventType;
  route: string | null;
  upstream: string | null;
  event: ResilienceEvent;
}

/**
 * Most events in one chunk, and the stride of event ids: an event's id is
 * `chunkId * EVENT_CHUNK_MAX_EVENTS + its index in the chunk`, so ids are unique, safe
 * integers (up to 2^41 chunks) and rise with insertion order.
 */
export const EVENT_CHUNK_MAX_EVENTS = 4096;

/**
 * Longest time one chunk spans (`last_at - first_at`); a group spanning more is split. Reads
 * rely on it: a chunk holding an event at or before `t` has `last_at <= t + EVENT_CHUNK_SPAN_MS`,
 * which turns a bound on event times into a range on the indexed `last_at`.
 */
export const EVENT_CHUNK_SPAN_MS = 10_000;

const CHUNK_INSERT_SQL =
  "INSERT INTO event_chunks (instance, type, route, upstream, first_at, last_at, count, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/** Append events in one transaction. */
export function appendEvents(
  store: Store,
  instanceId: string,
  list: readonly ResilienceEvent[],
): number {
  if (list.length === 0) return 0;
  return writeTx(store, () => insertEvents(store, instanceId, list));
}

interface Group {
  type: string;
  route: string | null;
  upstream: string | null;
  events: ResilienceEvent[];
  /** False once an event arrived with an earlier time than the one before it. */
  sorted: boolean;
}

/**
 * Insert events as chunks; the caller holds the write transaction. Events are grouped by key
 * in one pass (nested maps keyed by the strings themselves: no key string is built per event),
 * and only a group that arrived out of time order is sorted. Returns the number of events.
 */
export function insertEvents(
  store: Store,
  instanceId: string,
  list: readonly ResilienceEvent[],
): number {
  if (list.length === 0) return 0;
  const stmt = prepared(store, CHUNK_INSERT_SQL);
  const byType = new Map<string, Map<string | null, Map<string | null, Group>>>();
  const groups: Group[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    const route = e.route ?? null;
    const upstream = e.upstream ?? null;
    let byRoute = byType.get(e.type);
    if (byRoute === undefined) byType.set(e.type, (byRoute = new Map()));
    let byUpstream = byRoute.get(route);
    if (byUpstream === undefined) byRoute.set(route, (byUpstream = new Map()));
    let g = byUpstream.get(upstream);
    if (g === undefined) {
      g = { type: e.type, route, upstream, events: [e], sorted: true };
      byUpstream.set(upstream, g);
      groups.push(g);
    } else {
      if (g.sorted && e.at < g.events[g.events.length - 1]!.at) g.sorted = false;
      g.events.push(e);
    }
  }
  // Chunks are inserted in the order their groups first appeared, so ids follow the batch.
  for (const g of groups) {
    const evs = g.sorted ? g.events : g.events.sort((a, b) => a.at - b.at); // stable
    let start = 0;
    for (let j = 1; j <= evs.length; j++) {
      if (
        j < evs.length &&
        j - start < EVENT_CHUNK_MAX_EVENTS &&
        evs[j]!.at - evs[start]!.at <= EVENT_CHUNK_SPAN_MS
      )
        continue;
      // One stringify of the whole chunk: about 1.5× faster than one per event joined.
      const entries = new Array<[number, Record<string, unknown>]>(j - start);
      for (let k = start; k < j; k++) entries[k - start] = [evs[k]!.at, payloadOf(evs[k]!)];
      stmt.run(
        instanceId,
        g.type,
        g.route,
        g.upstream,
        evs[start]!.at,
        evs[j - 1]!.at,
        j - start,
        JSON.stringify(entries),
      );
      start = j;
    }
  }
  return list.length;
}

/**
 * The event's own fields; type, at, route and upstream live in the chunk's columns and are put
 * back on read. (A copy loop: object rest costs about twice as much.)
 */
function payloadOf(e: ResilienceEvent): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const k in e) {
    if (k === "type" || k === "at" || k === "route" || k === "upstream") continue;
    rest[k] = (e as unknown as Record<string, unknown>)[k];
  }
  return rest;
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

/** Events newest first, by (at desc, id desc). */
export function queryEvents(store: Store, q: EventQuery = {}): StoredEvent[] {
  const limit = Math.min(Math.max(q.limit ?? 200, 1), 10_000);
  let to = q.to;
  let match: ((at: number, id: number, payload: object) => boolean) | undefined;
  if (q.beforeId !== undefined) {
    // Page on (at, id), the sort order, so events inserted out of time order are neither
    // skipped nor repeated.
    const before = q.beforeId;
    const cursorAt = eventAt(store, before);
    if (cursorAt === undefined) match = (_at, id) => id < before;
    else {
      match = (at, id) => at < cursorAt || (at === cursorAt && id < before);
      if (to === undefined || cursorAt < to) to = cursorAt;
    }
  }
  const filter: ChunkFilter = {
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(q.route !== undefined ? { route: q.route } : {}),
    ...(q.upstream !== undefined ? { upstream: q.upstream } : {}),
    ...(q.instance !== undefined ? { instance: q.instance } : {}),
  };
  const types = q.types && q.types.length > 0 ? [...new Set(q.types)] : [undefined];
  return mergeNewest(
    types.map((type) =>
      readEvents(store, type === undefined ? filter : { ...filter, type }, "desc", limit, match),
    ),
    limit,
  );
}

export const EVENT_CURSOR_SQL = "SELECT events FROM event_chunks WHERE id = ?";

/** The time of the event with this id, if it is still stored. */
function eventAt(store: Store, id: number): number | undefined {
  if (!Number.isSafeInteger(id) || id < 0) return undefined;
  const events = prepared(store, EVENT_CURSOR_SQL)
    .pluck()
    .get(Math.floor(id / EVENT_CHUNK_MAX_EVENTS)) as string | undefined;
  if (events === undefined) return undefined;
  const entry = (JSON.parse(events) as [number, object][])[id % EVENT_CHUNK_MAX_EVENTS];
  return entry?.[0];
}

/** Chunk-level filters; `from`/`to` bound event times (inclusive). */
export interface ChunkFilter {
  from?: number;
  to?: number;
  type?: string;
  route?: string;
  upstream?: string;
  instance?: string;
}

interface ChunkRow {
  id: number;
  instance: string;
  type: string;
  route: string | null;
  upstream: string | null;
  last_at: number;
  events: string;
}

interface Hit {
  id: number;
  at: number;
  chunk: ChunkRow;
  payload: object;
}

const byNewest = (a: { at: number; id: number }, b: { at: number; id: number }) =>
  b.at - a.at || b.id - a.id;
const byOldest = (a: { at: number; id: number }, b: { at: number; id: number }) =>
  a.at - b.at || a.id - b.id;

/**
 * The index a filter reads through: the one whose columns before `last_at` are exactly the
 * filter's equalities (upstream before route when both are given), so chunks come in `last_at`
 * order without a sort. SQLite's planner, without statistics, prefers `(upstream, last_at)` to
 * `(upstream, type, last_at)` when `last_at` is bounded on both sides, so the choice is named
 * (INDEXED BY also makes the query fail outright, rather than scan, if the index goes away).
 */
function chunkIndex(f: ChunkFilter): string {
  const t = f.type !== undefined ? "_type" : "";
  if (f.upstream !== undefined) return `event_chunks_upstream${t}_idx`;
  if (f.route !== undefined) return `event_chunks_route${t}_idx`;
  return f.type !== undefined ? "event_chunks_type_idx" : "event_chunks_last_at_idx";
}

/**
 * The query selecting candidate chunks for a filter, in (`last_at`, id) order: an index entry
 * ends with the rowid, so the index yields that order without a sort.
 */
export function chunkQuerySql(f: ChunkFilter, order: "asc" | "desc"): string {
  // Both time bounds always go to `last_at`, so every read is an index range search; without
  // a bound they are the extremes and the walk stops at the limit.
  let where = "last_at >= ? AND last_at <= ?";
  if (f.to !== undefined) where += " AND first_at <= ?";
  if (f.type !== undefined) where += " AND type = ?";
  if (f.route !== undefined) where += " AND route = ?";
  if (f.upstream !== undefined) where += " AND upstream = ?";
  if (f.instance !== undefined) where += " AND instance = ?";
  return `SELECT id, instance, type, route, upstream, last_at, events FROM event_chunks INDEXED BY ${chunkIndex(f)} WHERE ${where} ORDER BY last_at ${order}, id ${order}`;
}

/** Parameters for `chunkQuerySql`, in the order of its placeholders. */
export function chunkParams(f: ChunkFilter): unknown[] {
  const p: unknown[] = [
    f.from ?? Number.MIN_SAFE_INTEGER,
    f.to === undefined ? Number.MAX_SAFE_INTEGER : f.to + EVENT_CHUNK_SPAN_MS,
  ];
  if (f.to !== undefined) p.push(f.to);
  if (f.type !== undefined) p.push(f.type);
  if (f.route !== undefined) p.push(f.route);
  if (f.upstream !== undefined) p.push(f.upstream);
  if (f.instance !== undefined) p.push(f.instance);
  return p;
}

/**
 * The first `limit` events matching the filter (and `match`, if given), newest first ("desc")
 * or oldest first ("asc"), by (at, id).
 *
 * Chunks' time ranges overlap, so the events cannot be streamed in order. Chunks come in
 * (`last_at`, id) order and their events are gathered; once `limit` are held, the walk stops at
 * the first chunk that cannot hold one that would make the cut (the limit-th event held):
 * newest first, a chunk ending before the cut's time, or ending at it with lower ids; oldest
 * first, a chunk ending more than the span bound after the cut's time (so starting after it),
 * or exactly that much with higher ids. Ties on time are thus decided by id, as in the order.
 */
export function readEvents(
  store: Store,
  f: ChunkFilter,
  order: "asc" | "desc",
  limit: number,
  match?: (at: number, id: number, payload: object) => boolean,
): StoredEvent[] {
  if (limit <= 0) return [];
  const desc = order === "desc";
  const from = f.from ?? -Infinity;
  const to = f.to ?? Infinity;
  const cmp = desc ? byNewest : byOldest;
  let hits: Hit[] = [];
  // The limit-th event as of the last pruning (later pruning only moves it ahead in the order,
  // so stopping on it is safe); its chunk id decides ties on time.
  let full = false;
  let cutAt = 0;
  let cutId = 0;
  let cutChunk = 0;
  const prune = () => {
    hits.sort(cmp);
    if (hits.length > limit) hits = hits.slice(0, limit);
    const last = hits[limit - 1]!;
    cutAt = last.at;
    cutId = last.id;
    cutChunk = Math.floor(cutId / EVENT_CHUNK_MAX_EVENTS);
    full = true;
  };
  const rows = prepared(store, chunkQuerySql(f, order)).iterate(...chunkParams(f));
  for (const row of rows as Iterable<ChunkRow>) {
    if (full) {
      if (desc && (row.last_at < cutAt || (row.last_at === cutAt && row.id < cutChunk))) break;
      const start = row.last_at - EVENT_CHUNK_SPAN_MS;
      if (!desc && (start > cutAt || (start === cutAt && row.id > cutChunk))) break;
    }
    const entries = JSON.parse(row.events) as [number, object][];
    const base = row.id * EVENT_CHUNK_MAX_EVENTS;
    if (desc) {
      for (let i = entries.length - 1; i >= 0; i--) {
        const [at, payload] = entries[i]!;
        if (at > to) continue;
        if (at < from || (full && (at < cutAt || (at === cutAt && base + i < cutId)))) break;
        if (match && !match(at, base + i, payload)) continue;
        hits.push({ id: base + i, at, chunk: row, payload });
      }
    } else {
      for (let i = 0; i < entries.length; i++) {
        const [at, payload] = entries[i]!;
        if (at < from) continue;
        if (at > to || (full && (at > cutAt || (at === cutAt && base + i > cutId)))) break;
        if (match && !match(at, base + i, payload)) continue;
        hits.push({ id: base + i, at, chunk: row, payload });
      }
    }
    if (hits.length >= (full ? 2 * limit : limit)) prune();
  }
  hits.sort(cmp);
  return hits.slice(0, limit).map(toStoredEvent);
}

/** The first `limit` of several newest-first lists of distinct events. */
function mergeNewest(lists: StoredEvent[][], limit: number): StoredEvent[] {
  if (lists.length === 1) return lists[0]!;
  return lists.flat().sort(byNewest).slice(0, limit);
}

function toStoredEvent(h: Hit): StoredEvent {
  const c = h.chunk;
  return {
    id: h.id,
    at: h.at,
    instance: c.instance,
    type: c.type as EventType,
    route: c.route,
    upstream: c.upstream,
    event: {
      type: c.type,
      at: h.at,
      ...(c.route !== null ? { route: c.route } : {}),
      ...(c.upstream !== null ? { upstream: c.upstream } : {}),
      ...h.payload,
    } as ResilienceEvent,
  };
}

export const EVENT_RETENTION_SQL =
  "DELETE FROM event_chunks WHERE id IN (SELECT id FROM event_chunks WHERE last_at < ? LIMIT ?) RETURNING count";

/**
 * Delete chunks whose last event is older than `before`, in transactions of at most `batch`
 * chunks, `maxBatches` at most. A chunk straddling the cutoff is kept whole (its older events
 * stay at most EVENT_CHUNK_SPAN_MS longer). Returns the number of events deleted.
 */
export function deleteEventsBefore(
  store: Store,
  before: number,
  batch: number,
  maxBatches: number,
): number {
  const stmt = prepared(store, EVENT_RETENTION_SQL).pluck();
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const counts = writeTx(store, () => stmt.all(before, batch) as number[]);
    for (const c of counts) total += c;
    if (counts.length < batch) break;
  }
  return total;
}
