import type { ResilienceEvent } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendEvents,
  EVENT_CHUNK_MAX_EVENTS,
  EVENT_CHUNK_SPAN_MS,
  queryEvents,
  type EventQuery,
  type StoredEvent,
} from "../src/index";
import { readEvents, type ChunkFilter } from "../src/events";
import { tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const T = 1_700_000_000_000;

interface ChunkRow {
  id: number;
  instance: string;
  type: string;
  route: string | null;
  upstream: string | null;
  first_at: number;
  last_at: number;
  count: number;
  events: string;
}

const chunks = () =>
  t.store.sqlite.prepare("SELECT * FROM event_chunks ORDER BY id").all() as ChunkRow[];

/** Every stored event, decoded straight from the table (the reference the reads must match). */
function everyEvent(): StoredEvent[] {
  return chunks().flatMap((c) =>
    (JSON.parse(c.events) as [number, object][]).map(([at, payload], i) => ({
      id: c.id * EVENT_CHUNK_MAX_EVENTS + i,
      at,
      instance: c.instance,
      type: c.type as StoredEvent["type"],
      route: c.route,
      upstream: c.upstream,
      event: {
        type: c.type,
        at,
        ...(c.route !== null ? { route: c.route } : {}),
        ...(c.upstream !== null ? { upstream: c.upstream } : {}),
        ...payload,
      } as ResilienceEvent,
    })),
  );
}

const newestFirst = (a: StoredEvent, b: StoredEvent) => b.at - a.at || b.id - a.id;
const oldestFirst = (a: StoredEvent, b: StoredEvent) => a.at - b.at || a.id - b.id;

function reference(q: EventQuery): StoredEvent[] {
  const limit = Math.min(Math.max(q.limit ?? 200, 1), 10_000);
  return everyEvent()
    .filter(
      (e) =>
        (q.from === undefined || e.at >= q.from) &&
        (q.to === undefined || e.at <= q.to) &&
        (!q.types?.length || q.types.includes(e.type)) &&
        (q.route === undefined || e.route === q.route) &&
        (q.upstream === undefined || e.upstream === q.upstream) &&
        (q.instance === undefined || e.instance === q.instance),
    )
    .sort(newestFirst)
    .slice(0, limit);
}

/** Every page of a query, following `beforeId`. */
function allPages(q: EventQuery): StoredEvent[] {
  const out: StoredEvent[] = [];
  let beforeId: number | undefined;
  for (;;) {
    const page = queryEvents(t.store, { ...q, ...(beforeId !== undefined ? { beforeId } : {}) });
    out.push(...page);
    if (page.length < (q.limit ?? 200)) return out;
    beforeId = page[page.length - 1]!.id;
  }
}

const ev = (
  type: string,
  at: number,
  key: { route?: string; upstream?: string },
  seq: number,
): ResilienceEvent => ({ type, at, ...key, seq }) as unknown as ResilienceEvent;
const seqs = (list: StoredEvent[]) => list.map((e) => (e.event as unknown as { seq: number }).seq);

describe("event chunks", () => {
  it("a flush becomes one chunk per instance, type, route and upstream, in time order", () => {
    const w = t.writer({ instanceId: "gw-1" });
    const list = [
      ev("retry.scheduled", T + 2, { route: "a", upstream: "u" }, 0),
      ev("retry.scheduled", T + 1, { route: "b", upstream: "u" }, 1),
      ev("retry.scheduled", T + 0, { route: "a", upstream: "u" }, 2), // out of order
      ev("breaker.transition", T + 1, { upstream: "u" }, 3),
      ev("retry.scheduled", T + 2, { route: "a", upstream: "u" }, 4),
      ev("config.applied", T + 1, {}, 5),
    ];
    for (const e of list) w.enqueueEvent(e);
    w.flushNow();
    const rows = chunks();
    expect(
      rows.map((c) => [c.type, c.route, c.upstream, c.first_at - T, c.last_at - T, c.count]),
    ).toEqual([
      ["retry.scheduled", "a", "u", 0, 2, 3],
      ["retry.scheduled", "b", "u", 1, 1, 1],
      ["breaker.transition", null, "u", 1, 1, 1],
      ["config.applied", null, null, 1, 1, 1],
    ]);
    // Sorted by time, equal times in arrival order; type, at, route, upstream only in columns.
    expect(JSON.parse(rows[0]!.events)).toEqual([
      [T, { seq: 2 }],
      [T + 2, { seq: 0 }],
      [T + 2, { seq: 4 }],
    ]);
    expect(queryEvents(t.store)).toEqual(reference({}));
    expect(new Set(rows.map((c) => c.instance))).toEqual(new Set(["gw-1"]));
  });

  it("splits a group spanning more than the span bound or holding more than the size bound", () => {
    const list: ResilienceEvent[] = [];
    for (let i = 0; i < EVENT_CHUNK_MAX_EVENTS + 10; i++)
      list.push(ev("retry.scheduled", T, { route: "a" }, i));
    for (let i = 0; i < 26; i++)
      list.push(ev("retry.scheduled", T + 1000 * i, { route: "b" }, 10_000 + i));
    appendEvents(t.store, "gw", list);
    const rows = chunks();
    expect(rows.map((c) => [c.route, c.count, c.last_at - c.first_at])).toEqual([
      ["a", EVENT_CHUNK_MAX_EVENTS, 0],
      ["a", 10, 0],
      ["b", 11, EVENT_CHUNK_SPAN_MS],
      ["b", 11, EVENT_CHUNK_SPAN_MS],
      ["b", 4, 3000],
    ]);
    const all = everyEvent();
    expect(new Set(all.map((e) => e.id)).size).toBe(list.length);
    expect(all.every((e) => Number.isSafeInteger(e.id))).toBe(true);
    // Ids rise with insertion order within the batch's groups.
    expect(seqs(queryEvents(t.store, { route: "a", limit: 10_000 })).reverse()).toEqual(
      Array.from({ length: EVENT_CHUNK_MAX_EVENTS + 10 }, (_, i) => i),
    );
    expect(allPages({ route: "b", limit: 4 })).toEqual(reference({ route: "b", limit: 10_000 }));
  });

  it("newest first across overlapping chunks: a later chunk may end before an earlier one", () => {
    // Chunk 1 spans T..T+9000; chunk 2 (inserted later) ends at T+5000; chunk 3 arrives late
    // with an event at T+4000; chunk 4 sits inside chunk 1's range for another route.
    appendEvents(
      t.store,
      "gw",
      [0, 3000, 6000, 9000].map((d, i) => ev("retry.scheduled", T + d, { route: "a" }, i)),
    );
    appendEvents(t.store, "gw", [ev("retry.scheduled", T + 5000, { route: "b" }, 10)]);
    appendEvents(t.store, "gw", [ev("retry.scheduled", T + 4000, { route: "a" }, 20)]);
    appendEvents(t.store, "gw", [
      ev("retry.scheduled", T + 1000, { route: "c" }, 30),
      ev("retry.scheduled", T + 8000, { route: "c" }, 31),
    ]);
    expect(chunks()).toHaveLength(4);
    const order = [3, 31, 2, 10, 20, 1, 30, 0];
    for (let limit = 1; limit <= order.length + 1; limit++)
      expect(seqs(queryEvents(t.store, { limit }))).toEqual(order.slice(0, limit));
    expect(seqs(queryEvents(t.store, { to: T + 7999, limit: 2 }))).toEqual([2, 10]);
    expect(seqs(queryEvents(t.store, { from: T + 3000, to: T + 5000 }))).toEqual([10, 20, 1]);
    expect(seqs(queryEvents(t.store, { route: "a", limit: 3 }))).toEqual([3, 2, 20]);
    expect(seqs(allPages({ limit: 3 }))).toEqual(order);
  });

  it("events with equal times come newest id first, within a chunk and across chunks", () => {
    // One flush, two keys interleaved, all at T: each key's chunk keeps its arrival order,
    // and the chunk of the key seen first gets the lower ids.
    appendEvents(t.store, "gw", [
      ev("retry.scheduled", T, { route: "a" }, 1),
      ev("retry.scheduled", T, { route: "b" }, 2),
      ev("retry.scheduled", T, { route: "a" }, 3),
      ev("retry.scheduled", T, { route: "b" }, 4),
    ]);
    // A later flush at the same time comes before all of them.
    appendEvents(t.store, "gw", [ev("retry.scheduled", T, { route: "a" }, 5)]);
    expect(seqs(queryEvents(t.store))).toEqual([5, 4, 2, 3, 1]);
    for (let limit = 1; limit <= 5; limit++)
      expect(seqs(allPages({ limit }))).toEqual([5, 4, 2, 3, 1]);
    expect(seqs(queryEvents(t.store, { route: "a", limit: 2 }))).toEqual([5, 3]);
  });

  it("an event with the limit-th event's time in a chunk read later still wins on its id", () => {
    // Chunk 1 (read first: it ends later) fills the limit; chunk 2 ends exactly at the cut
    // and its event, newer by id, displaces chunk 1's event at the same time.
    appendEvents(t.store, "gw", [
      ev("retry.scheduled", T, { route: "a" }, 1),
      ev("retry.scheduled", T + 5, { route: "a" }, 2),
    ]);
    appendEvents(t.store, "gw", [ev("retry.scheduled", T, { route: "b" }, 3)]);
    expect(seqs(queryEvents(t.store, { limit: 2 }))).toEqual([2, 3]);
    expect(seqs(queryEvents(t.store, { limit: 3 }))).toEqual([2, 3, 1]);
    // Oldest first, the mirror case: the later chunk starts at the cut.
    const asc = (limit: number) => seqs(readEvents(t.store, { from: T, to: T + 5 }, "asc", limit));
    expect(asc(1)).toEqual([1]);
    expect(asc(2)).toEqual([1, 3]);
    expect(asc(3)).toEqual([1, 3, 2]);
  });

  it("oldest first, a chunk ending a whole span after the cut may still start on it", () => {
    // Chunk 1 spans exactly EVENT_CHUNK_SPAN_MS from T; chunk 2, read first (it ends at T),
    // fills the limit with a newer id at the same time.
    appendEvents(t.store, "gw", [
      ev("retry.scheduled", T, { route: "a" }, 1),
      ev("retry.scheduled", T + EVENT_CHUNK_SPAN_MS, { route: "a" }, 2),
    ]);
    appendEvents(t.store, "gw", [ev("retry.scheduled", T, { route: "b" }, 3)]);
    expect(chunks()).toHaveLength(2);
    const f = { from: T, to: T + EVENT_CHUNK_SPAN_MS };
    expect(seqs(readEvents(t.store, f, "asc", 1))).toEqual([1]);
    expect(seqs(readEvents(t.store, f, "asc", 2))).toEqual([1, 3]);
  });

  it("a page boundary inside a chunk neither repeats nor skips events", () => {
    appendEvents(
      t.store,
      "gw",
      Array.from({ length: 10 }, (_, i) => ev("retry.scheduled", T + Math.floor(i / 3), {}, i)),
    );
    expect(chunks()).toHaveLength(1);
    const p1 = queryEvents(t.store, { limit: 4 });
    const p2 = queryEvents(t.store, { limit: 4, beforeId: p1[3]!.id });
    const p3 = queryEvents(t.store, { limit: 4, beforeId: p2[3]!.id });
    expect([seqs(p1), seqs(p2), seqs(p3)]).toEqual([
      [9, 8, 7, 6],
      [5, 4, 3, 2],
      [1, 0],
    ]);
    // Pages cut between two events with the same time (6 and 7 share T + 2, 3..5 share T + 1).
    expect(seqs(allPages({ limit: 3 }))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(seqs(queryEvents(t.store, { limit: 2, beforeId: p1[0]!.id, from: T + 1 }))).toEqual([
      8, 7,
    ]);
    // A cursor whose event is gone (retention) still pages by id.
    expect(
      seqs(queryEvents(t.store, { beforeId: p1[0]!.id + 5 * EVENT_CHUNK_MAX_EVENTS, limit: 2 })),
    ).toEqual([9, 8]);
  });

  it("type filters read each type through its index and merge them in order", () => {
    appendEvents(t.store, "gw", [
      ev("breaker.transition", T + 1, { upstream: "u" }, 1),
      ev("retry.scheduled", T + 2, { route: "r", upstream: "u" }, 2),
      ev("config.applied", T + 3, {}, 3),
      ev("breaker.transition", T + 4, { upstream: "u" }, 4),
      ev("breaker.transition", T + 3, { upstream: "v" }, 5),
    ]);
    appendEvents(t.store, "gw", [ev("config.applied", T + 4, {}, 6)]);
    const q = (x: EventQuery) => seqs(queryEvents(t.store, x));
    expect(q({ types: ["breaker.transition"] })).toEqual([4, 5, 1]);
    expect(q({ types: ["breaker.transition", "config.applied"] })).toEqual([6, 4, 5, 3, 1]);
    expect(q({ types: ["config.applied", "breaker.transition"], limit: 3 })).toEqual([6, 4, 5]);
    expect(q({ types: ["breaker.transition", "breaker.transition"], limit: 2 })).toEqual([4, 5]);
    expect(q({ types: ["no.such.type"] })).toEqual([]);
    expect(q({ types: [] })).toEqual([6, 4, 5, 3, 2, 1]);
    expect(q({ types: ["breaker.transition"], upstream: "u", to: T + 3, limit: 1 })).toEqual([1]);
    expect(q({ types: ["retry.scheduled", "breaker.transition"], upstream: "u" })).toEqual([
      4, 2, 1,
    ]);
    expect(
      seqs(
        allPages({ types: ["breaker.transition", "config.applied", "retry.scheduled"], limit: 2 }),
      ),
    ).toEqual([6, 4, 5, 3, 2, 1]);
  });

  it("matches a decode of every chunk for any filter, limit and page size", () => {
    // Deterministic pseudo-random flushes: overlapping, out of order, equal times, groups
    // longer than a chunk may span.
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const types = ["retry.scheduled", "breaker.transition", "config.applied"];
    const routes = ["r0", "r1", undefined];
    const upstreams = ["u0", "u1", undefined];
    let seq = 0;
    for (let flush = 0; flush < 40; flush++) {
      const base = T + flush * 2000;
      const list = Array.from({ length: 1 + rnd(60) }, () => {
        const route = routes[rnd(3)];
        const upstream = upstreams[rnd(3)];
        return ev(
          types[rnd(3)]!,
          base + (rnd(30) - 15) * 1000 + (rnd(4) === 0 ? rnd(999) : 0),
          { ...(route ? { route } : {}), ...(upstream ? { upstream } : {}) },
          seq++,
        );
      });
      appendEvents(t.store, rnd(2) ? "gw-1" : "gw-2", list);
    }
    const rows = chunks();
    for (const c of rows) {
      const entries = JSON.parse(c.events) as [number, object][];
      expect(entries).toHaveLength(c.count);
      expect(c.last_at - c.first_at).toBeLessThanOrEqual(EVENT_CHUNK_SPAN_MS);
      expect([entries[0]![0], entries[entries.length - 1]![0]]).toEqual([c.first_at, c.last_at]);
      expect(entries.map((e) => e[0])).toEqual(entries.map((e) => e[0]).sort((a, b) => a - b));
    }
    expect(everyEvent()).toHaveLength(seq);
    const queries: EventQuery[] = [
      {},
      { upstream: "u0" },
      { route: "r1" },
      { types: ["breaker.transition"] },
      { types: ["breaker.transition"], upstream: "u1" },
      { types: ["retry.scheduled", "config.applied"], route: "r0" },
      { instance: "gw-2" },
      { from: T + 20_000, to: T + 50_000 },
      { from: T + 20_500, to: T + 21_500, upstream: "u0" },
      { to: T + 30_000, types: ["breaker.transition"], upstream: "u0" },
    ];
    for (const q of queries) {
      for (const limit of [1, 2, 5, 33, 10_000])
        expect(queryEvents(t.store, { ...q, limit }), JSON.stringify({ ...q, limit })).toEqual(
          reference({ ...q, limit }),
        );
      expect(allPages({ ...q, limit: 7 })).toEqual(reference({ ...q, limit: 10_000 }));
    }
    // Oldest first (incident timelines) over the same data.
    const asc: ChunkFilter[] = [
      { from: T + 10_000, to: T + 40_000 },
      { from: T + 10_000, to: T + 40_000, upstream: "u1" },
      { from: T, to: T + 90_000, type: "config.applied" },
    ];
    for (const f of asc)
      for (const limit of [1, 3, 20, 5000]) {
        const want = everyEvent()
          .filter(
            (e) =>
              e.at >= f.from! &&
              e.at <= f.to! &&
              (f.upstream === undefined || e.upstream === f.upstream) &&
              (f.type === undefined || e.type === f.type),
          )
          .sort(oldestFirst)
          .slice(0, limit);
        expect(readEvents(t.store, f, "asc", limit), JSON.stringify({ ...f, limit })).toEqual(want);
      }
  });
});
