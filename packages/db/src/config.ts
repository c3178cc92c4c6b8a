/**
 * The control plane: bootstrap config ⊕ live operator overrides = the effective config, with
 * one monotonically rising revision that the gateway polls. Every change happens in one
 * IMMEDIATE transaction together with its audit row.
 */
import {
  applyOverrides,
  ConfigError,
  getAtPath,
  splitPath,
  startupOnlyChanges,
  validateConfig,
  type Config,
  type ConfigIssue,
  type ConfigOverride,
  type ModeName,
} from "@rg/core/config";
import { and, asc, desc, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import { appendAudit, fromJson, toJson } from "./audit";
import { configBootstrap, controlState, overrides } from "./schema";
import { prepared, writeTx, type Store } from "./store";

export interface OverrideRow {
  id: number;
  path: string;
  value: unknown;
  actor: string;
  role: string;
  reason: string;
  requestId: string | null;
  revision: number;
  createdAt: number;
  expiresAt: number | null;
  endedAt: number | null;
  endedBy: string | null;
  endReason: string | null;
}

export type EffectiveConfig =
  | { revision: number; config: Config; overrides: OverrideRow[] }
  | { revision: number; issues: ConfigIssue[] };

export type ChangeResult =
  | { ok: true; revision: number; before: unknown; after: unknown }
  /** `conflict`: refused because the paths changed after the revision the change was made from. */
  | { ok: false; issues: ConfigIssue[]; conflict?: true };

const revisionStmts = new WeakMap<Store, { read: () => number }>();

/** The current config revision: one primary-key read of a single-row table. */
export function currentRevision(store: Store): number {
  let s = revisionStmts.get(store);
  if (!s) {
    const stmt = store.sqlite.prepare("SELECT revision FROM control_state WHERE id = 1").pluck();
    s = { read: () => (stmt.get() as number | undefined) ?? 0 };
    revisionStmts.set(store, s);
  }
  return s.read();
}

/** Raise the revision; call inside a write transaction. */
export function bumpRevision(store: Store, now: number): number {
  const r = store.db
    .update(controlState)
    .set({ revision: sqlIncrement(), updatedAt: now })
    .where(eq(controlState.id, 1))
    .returning({ revision: controlState.revision })
    .get();
  if (r) return r.revision;
  // The row is created by a migration; recreate it if someone removed it.
  store.db.insert(controlState).values({ id: 1, revision: 1, updatedAt: now }).run();
  return 1;
}

const sqlIncrement = () => sql`${controlState.revision} + 1`;

function toOverrideRow(r: typeof overrides.$inferSelect): OverrideRow {
  return {
    id: r.id,
    path: r.path,
    value: fromJson(r.valueJson),
    actor: r.actor,
    role: r.role,
    reason: r.reason,
    requestId: r.requestId,
    revision: r.revision,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    endedAt: r.endedAt,
    endedBy: r.endedBy,
    endReason: r.endReason,
  };
}

function latestBootstrap(store: Store): { input: unknown; source: string } | undefined {
  const row = store.db
    .select()
    .from(configBootstrap)
    .orderBy(desc(configBootstrap.id))
    .limit(1)
    .get();
  return row ? { input: JSON.parse(row.inputJson) as unknown, source: row.source } : undefined;
}

function liveOverrides(store: Store, now: number): OverrideRow[] {
  return store.db
    .select()
    .from(overrides)
    .where(
      and(isNull(overrides.endedAt), or(isNull(overrides.expiresAt), gt(overrides.expiresAt, now))),
    )
    .orderBy(asc(overrides.revision), asc(overrides.id))
    .all()
    .map(toOverrideRow);
}

const asOverrides = (rows: readonly OverrideRow[]): ConfigOverride[] =>
  rows.map((r) => ({ path: r.path, value: r.value }));

/**
 * Store the bootstrap config as written (not the defaulted output, so overrides apply over
 * what the operator wrote). Throws {@link ConfigError} listing every `path: reason` when
 * invalid. Raises the revision only when the input differs from the last bootstrap.
 */
export function seedBootstrapConfig(
  store: Store,
  input: unknown,
  source: string,
  now = Date.now(),
): { revision: number; changed: boolean } {
  const v = validateConfig(input);
  if (!v.ok) throw new ConfigError(v.issues);
  const json = JSON.stringify(input);
  return writeTx(store, () => {
    const last = store.db
      .select({ inputJson: configBootstrap.inputJson })
      .from(configBootstrap)
      .orderBy(desc(configBootstrap.id))
      .limit(1)
      .get();
    if (last?.inputJson === json) return { revision: currentRevision(store), changed: false };
    const revision = bumpRevision(store, now);
    store.db.insert(configBootstrap).values({ inputJson: json, source, revision, at: now }).run();
    appendAudit(store, {
      actor: "system",
      role: "system",
      action: "config.bootstrap",
      target: source,
      reason: last ? "bootstrap config changed" : "initial bootstrap config",
      at: now,
    });
    return { revision, changed: true };
  });
}

/** Bootstrap ⊕ live (unexpired, not cleared) overrides in revision order, validated. */
export function effectiveConfig(store: Store, nowWall = Date.now()): EffectiveConfig {
  // One read transaction, so the revision matches the rows read.
  return store.sqlite.transaction(() => {
    const revision = currentRevision(store);
    const boot = latestBootstrap(store);
    if (!boot) return { revision, issues: [{ path: "", message: "no bootstrap config stored" }] };
    const live = liveOverrides(store, nowWall);
    const r = applyOverrides(boot.input, asOverrides(live));
    return r.ok ? { revision, config: r.config, overrides: live } : { revision, issues: r.issues };
  })();
}

/**
 * What the effective config is made of, unvalidated: the newest bootstrap as written and the
 * live overrides in revision order. `bootstrap` is undefined when none is stored.
 */
export function configSources(
  store: Store,
  nowWall = Date.now(),
): { revision: number; bootstrap: unknown; overrides: OverrideRow[] } {
  return store.sqlite.transaction(() => ({
    revision: currentRevision(store),
    bootstrap: latestBootstrap(store)?.input,
    overrides: liveOverrides(store, nowWall),
  }))();
}

export interface LastValidConfig {
  config: Config;
  /** When the bootstrap and overrides it was made from stood as they did (the change before). */
  from: number;
  /** When the next change made it stop validating; null when it is the current config. */
  until: number | null;
  /**
   * "history": a state the store held. "bootstrap": none of the recent states validates, so
   * the newest bootstrap alone, which a gateway starting now would serve.
   */
  source: "history" | "bootstrap";
}

/** How many earlier states {@link lastValidConfig} tries before the bootstrap alone. */
const LAST_VALID_STATES = 50;

/**
 * The newest config the store held that validates: the bootstrap and overrides as they stood
 * after each recorded change (a bootstrap written, an override set, ended or expired), newest
 * first, up to `maxStates` of them; then the newest bootstrap alone. Null without a bootstrap.
 */
export function lastValidConfig(
  store: Store,
  nowWall = Date.now(),
  maxStates = LAST_VALID_STATES,
): LastValidConfig | null {
  return store.sqlite.transaction(() => {
    const times = prepared(
      store,
      `SELECT t FROM (
         SELECT at AS t FROM config_bootstrap
         UNION SELECT created_at FROM overrides
         UNION SELECT ended_at FROM overrides WHERE ended_at IS NOT NULL
         UNION SELECT expires_at FROM overrides WHERE expires_at IS NOT NULL)
       WHERE t <= @now ORDER BY t DESC LIMIT @limit`,
    )
      .pluck()
      .all({ now: nowWall, limit: maxStates }) as number[];
    let until: number | null = null;
    for (const at of times) {
      const boot = prepared(
        store,
        "SELECT input_json FROM config_bootstrap WHERE at <= ? ORDER BY id DESC LIMIT 1",
      )
        .pluck()
        .get(at) as string | undefined;
      if (boot !== undefined) {
        const rows = store.db
          .select()
          .from(overrides)
          .where(
            and(
              lte(overrides.createdAt, at),
              or(isNull(overrides.endedAt), gt(overrides.endedAt, at)),
              or(isNull(overrides.expiresAt), gt(overrides.expiresAt, at)),
            ),
          )
          .orderBy(asc(overrides.revision), asc(overrides.id))
          .all()
          .map(toOverrideRow);
        const r = applyOverrides(JSON.parse(boot) as unknown, asOverrides(rows));
        if (r.ok) return { config: r.config, from: at, until, source: "history" as const };
      }
      until = at;
    }
    const boot = store.db
      .select({ inputJson: configBootstrap.inputJson, at: configBootstrap.at })
      .from(configBootstrap)
      .orderBy(desc(configBootstrap.id))
      .limit(1)
      .get();
    if (!boot) return null;
    const v = validateConfig(JSON.parse(boot.inputJson) as unknown);
    return v.ok ? { config: v.config, from: boot.at, until, source: "bootstrap" as const } : null;
  })();
}

export interface SetOverrideInput {
  path: string;
  /** New value; `undefined` removes the key so the schema default applies. */
  value: unknown;
  actor: string;
  role: string;
  reason: string;
  ttlMs?: number;
  requestId?: string;
  /** Audit action name. Default "override.set". */
  action?: string;
  /** The revision the change was made from: see {@link SetOverridesInput.baseRevision}. */
  baseRevision?: number;
  now?: number;
}

/** One of several overrides written together by {@link setOverride}. */
export interface OverrideSet {
  path: string;
  /** New value; `undefined` removes the key so the schema default applies. */
  value: unknown;
  /** Audit action name. Default "override.set". */
  action?: string;
}

export interface SetOverridesInput {
  /** Validated as one config and written in one transaction as one revision, or not at all. */
  changes: readonly OverrideSet[];
  actor: string;
  role: string;
  reason: string;
  /** Applies to every override written. */
  ttlMs?: number;
  requestId?: string;
  /**
   * The revision the operator's form was built from. The change is refused as a conflict when
   * an override at, above or below one of its paths was set or cleared after that revision, so
   * an edit made from a stale page cannot silently undo another operator's change.
   */
  baseRevision?: number;
  now?: number;
}

export type ChangesResult =
  | { ok: true; revision: number; changes: { path: string; before: unknown; after: unknown }[] }
  | { ok: false; issues: ConfigIssue[]; conflict?: true };

function checkPath(path: string): ConfigIssue[] {
  try {
    splitPath(path);
    return [];
  } catch (e) {
    return [{ path, message: (e as Error).message }];
  }
}

const checkReason = (reason: string): ConfigIssue[] =>
  reason.trim() === "" ? [{ path: "reason", message: "a reason is required" }] : [];

function checkBase(baseRevision: number | undefined): ConfigIssue[] {
  return baseRevision === undefined || (Number.isSafeInteger(baseRevision) && baseRevision >= 0)
    ? []
    : [{ path: "baseRevision", message: "must be a revision number" }];
}

/**
 * Add an override in one IMMEDIATE transaction: validate the effective config with it; when
 * invalid, record a refused audit row and change nothing else; otherwise supersede the live
 * override at the same path, insert this one, raise the revision and append the audit row.
 *
 * Given `changes`, every override is written the same way in that one transaction, validated
 * together, as one revision: the gateway never sees some of them without the others.
 */
export function setOverride(store: Store, input: SetOverrideInput): ChangeResult;
export function setOverride(store: Store, input: SetOverridesInput): ChangesResult;
export function setOverride(
  store: Store,
  input: SetOverrideInput | SetOverridesInput,
): ChangeResult | ChangesResult {
  if (!("changes" in input)) {
    const { path, value, action, ...by } = input;
    return single(setOverride(store, { ...by, changes: [{ path, value, action }] }));
  }
  const now = input.now ?? Date.now();
  const pre: ConfigIssue[] = [];
  if (input.changes.length === 0) pre.push({ path: "", message: "nothing to change" });
  const seen = new Set<string>();
  for (const c of input.changes) {
    pre.push(...checkPath(c.path));
    if (seen.has(c.path)) pre.push({ path: c.path, message: "changed twice in one change" });
    seen.add(c.path);
  }
  pre.push(...checkReason(input.reason));
  if (input.ttlMs !== undefined && !(Number.isFinite(input.ttlMs) && input.ttlMs > 0))
    pre.push({ path: "ttlMs", message: "must be a positive number of ms" });
  pre.push(...checkBase(input.baseRevision));
  if (pre.length > 0) return { ok: false, issues: pre };
  const expiresAt = input.ttlMs !== undefined ? now + input.ttlMs : null;
  return changeOverrides(
    store,
    input.changes.map((c) => ({
      path: c.path,
      action: c.action ?? "override.set",
      set: { value: c.value, expiresAt },
    })),
    { ...input, now },
  );
}

export interface ClearOverrideInput {
  path: string;
  actor: string;
  role: string;
  reason: string;
  requestId?: string;
  action?: string;
  /** The revision the change was made from: see {@link SetOverridesInput.baseRevision}. */
  baseRevision?: number;
  now?: number;
}

/** End the live override at `path` (same rules as {@link setOverride}). */
export function clearOverride(store: Store, input: ClearOverrideInput): ChangeResult {
  const pre = [
    ...checkPath(input.path),
    ...checkReason(input.reason),
    ...checkBase(input.baseRevision),
  ];
  if (pre.length > 0) return { ok: false, issues: pre };
  const { path, action, ...by } = input;
  return single(
    changeOverrides(store, [{ path, action: action ?? "override.cleared" }], {
      ...by,
      now: input.now ?? Date.now(),
    }),
  );
}

/** The result of a change of one path. */
function single(r: ChangesResult): ChangeResult {
  if (!r.ok) return r;
  const { before, after } = r.changes[0]!;
  return { ok: true, revision: r.revision, before, after };
}

interface OverrideChange {
  path: string;
  action: string;
  /** A new value for `path`; without it, the live override at `path` is cleared. */
  set?: { value: unknown; expiresAt: number | null };
}

interface ChangeBy {
  actor: string;
  role: string;
  reason: string;
  requestId?: string;
  baseRevision?: number;
  now: number;
}

/** Whether a change at one path changes what an override at the other one set. */
const overlaps = (a: string, b: string): boolean =>
  a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/**
 * Overrides at, above or below `paths` set or cleared after revision `base`, as conflict
 * issues. An expiry is none: it was scheduled when the form was built. Ends are not numbered
 * by revision, so a clear counts when it ended after the last override or bootstrap written
 * at or before `base`; a clear just before `base` may count too, and reloading (a `base` equal
 * to the current revision) resolves it.
 */
function conflictsSince(store: Store, base: number, paths: readonly string[]): ConfigIssue[] {
  const current = currentRevision(store);
  if (base > current)
    return [{ path: "baseRevision", message: `is ahead of the current revision ${current}` }];
  if (base === current) return [];
  const baseAt = prepared(
    store,
    `SELECT max(t) FROM (
       SELECT created_at AS t FROM overrides WHERE revision <= @base
       UNION ALL SELECT at AS t FROM config_bootstrap WHERE revision <= @base)`,
  )
    .pluck()
    .get({ base }) as number | null;
  const changed = store.db
    .select()
    .from(overrides)
    .where(
      or(
        gt(overrides.revision, base),
        and(eq(overrides.endReason, "cleared"), gt(overrides.endedAt, baseAt ?? 0)),
      ),
    )
    .orderBy(asc(overrides.id))
    .all();
  const issues: ConfigIssue[] = [];
  for (const path of paths) {
    const rows = changed.filter((o) => overlaps(path, o.path));
    if (rows.length === 0) continue;
    const what = rows
      .map((o) =>
        o.revision > base
          ? `${o.path} set by ${o.actor} at revision ${o.revision}`
          : `${o.path} cleared by ${o.endedBy ?? "?"}`,
      )
      .join(", ");
    issues.push({
      path,
      message: `changed since revision ${base}, which this change was made from (${what}): reload and try again`,
    });
  }
  return issues;
}

/**
 * End the overrides whose time to live elapsed (as expired, each with its audit row); call
 * inside a write transaction. The caller raises the revision when this returns more than 0.
 */
function endExpired(store: Store, now: number): number {
  const rows = store.db
    .select()
    .from(overrides)
    .where(and(isNull(overrides.endedAt), lte(overrides.expiresAt, now)))
    .all();
  for (const r of rows) {
    store.db
      .update(overrides)
      .set({ endedAt: r.expiresAt ?? now, endedBy: "system", endReason: "expired" })
      .where(eq(overrides.id, r.id))
      .run();
    appendAudit(store, {
      actor: "system",
      role: "system",
      action: "override.expired",
      target: r.path,
      before: fromJson(r.valueJson),
      reason: `set by ${r.actor} (${r.reason}); time to live elapsed`,
      at: now,
    });
  }
  return rows.length;
}

/**
 * The one write path for overrides, in one IMMEDIATE transaction: end the overrides whose time
 * to live elapsed (as expired, not as replaced by this change); refuse a change made from a
 * revision that an override at its paths changed after; validate the effective config as it
 * would be after every change; refused → an audit row per change and nothing else;
 * applied → raise the revision once, end the live overrides at the paths, insert the new ones
 * and append an audit row per change.
 */
function changeOverrides(
  store: Store,
  list: readonly OverrideChange[],
  by: ChangeBy,
): ChangesResult {
  return writeTx(store, () => {
    const expired = endExpired(store, by.now);
    const r = decide();
    // The expiries are kept, and seen by the gateway, whatever became of the change.
    if (!r.ok && expired > 0) bumpRevision(store, by.now);
    return r;

    function decide(): ChangesResult {
      const boot = latestBootstrap(store);
      if (!boot)
        return { ok: false, issues: [{ path: "", message: "no bootstrap config stored" }] };
      const live = liveOverrides(store, by.now);
      const notLive = list.filter((c) => !c.set && !live.some((o) => o.path === c.path));
      if (notLive.length > 0)
        return {
          ok: false,
          issues: notLive.map((c) => ({ path: c.path, message: "no live override at this path" })),
        };
      const audits = (before: Config | undefined) =>
        list.map((c) => ({
          actor: by.actor,
          role: by.role,
          action: c.action,
          target: c.path,
          before: before ? getAtPath(before, c.path) : undefined,
          reason: by.reason,
          requestId: by.requestId,
          at: by.now,
        }));
      const current = applyOverrides(boot.input, asOverrides(live));
      const currentConfig = current.ok ? current.config : undefined;
      const refuse = (issues: ConfigIssue[], conflict: boolean): ChangesResult => {
        audits(currentConfig).forEach((a, i) => {
          const set = list[i]!.set;
          appendAudit(store, { ...a, ...(set ? { after: set.value } : {}), outcome: "refused" });
        });
        return conflict ? { ok: false, issues, conflict: true } : { ok: false, issues };
      };
      if (by.baseRevision !== undefined) {
        const conflicts = conflictsSince(
          store,
          by.baseRevision,
          list.map((c) => c.path),
        );
        if (conflicts.length > 0)
          return refuse(
            conflicts,
            conflicts.some((i) => i.path !== "baseRevision"),
          );
      }
      const paths = new Set(list.map((c) => c.path));
      const kept = asOverrides(live.filter((o) => !paths.has(o.path)));
      const next = applyOverrides(boot.input, [
        ...kept,
        ...list.flatMap((c) => (c.set ? [{ path: c.path, value: c.set.value }] : [])),
      ]);
      // A setting the running gateway cannot take on would be recorded as applied and do
      // nothing: refused like an invalid value.
      if (!next.ok) return refuse(next.issues, false);
      const fixed = currentConfig ? startupOnlyChanges(currentConfig, next.config) : [];
      if (fixed.length > 0) return refuse(fixed, false);
      const revision = bumpRevision(store, by.now);
      const audit = audits(currentConfig);
      const changes = list.map((c, i) => {
        store.db
          .update(overrides)
          .set({ endedAt: by.now, endedBy: by.actor, endReason: c.set ? "superseded" : "cleared" })
          .where(and(eq(overrides.path, c.path), isNull(overrides.endedAt)))
          .run();
        if (c.set) {
          // A value at this path replaces what is below it too: overrides there no longer
          // take effect, so they end as superseded rather than stay listed as live.
          const prefix = `${c.path}.`;
          store.db
            .update(overrides)
            .set({ endedAt: by.now, endedBy: by.actor, endReason: "superseded" })
            .where(
              and(
                sql`substr(${overrides.path}, 1, ${prefix.length}) = ${prefix}`,
                isNull(overrides.endedAt),
              ),
            )
            .run();
          store.db
            .insert(overrides)
            .values({
              path: c.path,
              valueJson: toJson(c.set.value),
              actor: by.actor,
              role: by.role,
              reason: by.reason,
              requestId: by.requestId ?? null,
              revision,
              createdAt: by.now,
              expiresAt: c.set.expiresAt,
            })
            .run();
        }
        const after = getAtPath(next.config, c.path);
        appendAudit(store, { ...audit[i]!, after });
        return { path: c.path, before: audit[i]!.before, after };
      });
      return { ok: true, revision, changes };
    }
  });
}

/**
 * Live overrides in revision order; with `includeExpired`, every override ever written
 * (cleared, superseded and expired too), newest first.
 */
export function listOverrides(
  store: Store,
  opts: { includeExpired?: boolean; now?: number; limit?: number } = {},
): OverrideRow[] {
  const now = opts.now ?? Date.now();
  if (!opts.includeExpired) return liveOverrides(store, now);
  return store.db
    .select()
    .from(overrides)
    .orderBy(desc(overrides.id))
    .limit(opts.limit ?? 500)
    .all()
    .map(toOverrideRow);
}

/**
 * Mark overrides whose TTL elapsed as ended and raise the revision, so a gateway polling the
 * revision notices the expiry. Takes the write lock only when something expired.
 */
export function expireOverrides(
  store: Store,
  now = Date.now(),
): { expired: number; revision: number } {
  const due = store.db
    .select({ id: overrides.id })
    .from(overrides)
    .where(and(isNull(overrides.endedAt), lte(overrides.expiresAt, now)))
    .limit(1)
    .all();
  if (due.length === 0) return { expired: 0, revision: currentRevision(store) };
  return writeTx(store, () => {
    const expired = endExpired(store, now);
    return { expired, revision: expired > 0 ? bumpRevision(store, now) : currentRevision(store) };
  });
}

/** The earliest expiry of a live override after `now`, if any. */
export function nextExpiryAt(store: Store, now = Date.now()): number | undefined {
  const r = store.db
    .select({ at: overrides.expiresAt })
    .from(overrides)
    .where(and(isNull(overrides.endedAt), gt(overrides.expiresAt, now)))
    .orderBy(asc(overrides.expiresAt))
    .limit(1)
    .get();
  return r?.at ?? undefined;
}

export interface SetModeInput {
  scope: "gateway" | "route";
  /** Route id (required for scope "route"). */
  target?: string;
  mode: ModeName;
  actor: string;
  role: string;
  reason: string;
  ttlMs?: number;
  requestId?: string;
  now?: number;
}

export const modePath = (scope: "gateway" | "route", target?: string): string =>
  scope === "gateway" ? "gateway.mode" : `routes.${target ?? ""}.mode`;

/** Modes are overrides at `gateway.mode` or `routes.<id>.mode`. */
export function setMode(store: Store, input: SetModeInput): ChangeResult {
  if (input.scope === "route" && !input.target)
    return { ok: false, issues: [{ path: "target", message: "a route id is required" }] };
  if (input.scope === "route") {
    const eff = effectiveConfig(store, input.now);
    if ("config" in eff && !Object.hasOwn(eff.config.routes, input.target!))
      return {
        ok: false,
        issues: [{ path: "target", message: `unknown route '${input.target}'` }],
      };
  }
  return setOverride(store, {
    path: modePath(input.scope, input.target),
    value: input.mode,
    actor: input.actor,
    role: input.role,
    reason: input.reason,
    action: "mode.set",
    ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
    ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
    ...(input.now !== undefined ? { now: input.now } : {}),
  });
}

export interface Modes {
  gateway: ModeName;
  routes: Record<string, ModeName>;
}

/** Modes from the effective config (from the bootstrap alone when overrides make it invalid). */
export function readModes(store: Store, now = Date.now()): Modes {
  const eff = effectiveConfig(store, now);
  let config: Config | undefined;
  if ("config" in eff) config = eff.config;
  else {
    const boot = latestBootstrap(store);
    const v = boot ? validateConfig(boot.input) : undefined;
    if (v?.ok) config = v.config;
  }
  if (!config) return { gateway: "normal", routes: {} };
  return {
    gateway: config.gateway.mode,
    routes: Object.fromEntries(Object.entries(config.routes).map(([id, r]) => [id, r.mode])),
  };
}
