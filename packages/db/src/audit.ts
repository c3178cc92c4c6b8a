import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import { audit } from "./schema";
import type { Store } from "./store";

export type AuditOutcome = "applied" | "refused";

export interface AuditInput {
  actor: string;
  role: string;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
  reason: string;
  at?: number;
  requestId?: string | undefined;
  outcome?: AuditOutcome;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  reason: string;
  requestId: string | null;
  outcome: AuditOutcome;
}

export const toJson = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
export const fromJson = (s: string | null): unknown => (s === null ? undefined : JSON.parse(s));

/**
 * Append one audit row. Callers that change state call this inside their own transaction, so
 * a failed audit insert rolls the change back.
 */
export function appendAudit(store: Store, row: AuditInput): number {
  const r = store.db
    .insert(audit)
    .values({
      at: row.at ?? Date.now(),
      actor: row.actor,
      role: row.role,
      action: row.action,
      target: row.target,
      beforeJson: toJson(row.before),
      afterJson: toJson(row.after),
      reason: row.reason,
      requestId: row.requestId ?? null,
      outcome: row.outcome ?? "applied",
    })
    .returning({ id: audit.id })
    .get();
  return r.id;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: number;
  to?: number;
  limit?: number;
  beforeId?: number;
}

export interface AuditPage {
  rows: AuditEntry[];
  /** Distinct values for filter pickers. */
  actors: string[];
  actions: string[];
  /** Pass as `beforeId` to read the next (older) page; undefined on the last page. */
  nextBeforeId?: number;
}

/** Audit rows newest first, with the distinct actors and actions for filters. */
export function queryAudit(store: Store, q: AuditQuery = {}): AuditPage {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const where: SQL[] = [];
  if (q.actor !== undefined) where.push(eq(audit.actor, q.actor));
  if (q.action !== undefined) where.push(eq(audit.action, q.action));
  if (q.target !== undefined) where.push(eq(audit.target, q.target));
  if (q.from !== undefined) where.push(gte(audit.at, q.from));
  if (q.to !== undefined) where.push(lte(audit.at, q.to));
  if (q.beforeId !== undefined) where.push(lt(audit.id, q.beforeId));
  const rows = store.db
    .select()
    .from(audit)
    .where(and(...where))
    .orderBy(desc(audit.id))
    .limit(limit)
    .all()
    .map(toEntry);
  const actors = store.db
    .selectDistinct({ v: audit.actor })
    .from(audit)
    .orderBy(audit.actor)
    .all()
    .map((r) => r.v);
  const actions = store.db
    .selectDistinct({ v: audit.action })
    .from(audit)
    .orderBy(audit.action)
    .all()
    .map((r) => r.v);
  const last = rows[rows.length - 1];
  return {
    rows,
    actors,
    actions,
    ...(rows.length === limit && last ? { nextBeforeId: last.id } : {}),
  };
}

export function toEntry(r: typeof audit.$inferSelect): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    before: fromJson(r.beforeJson),
    after: fromJson(r.afterJson),
    reason: r.reason,
    requestId: r.requestId,
    outcome: r.outcome,
  };
}
