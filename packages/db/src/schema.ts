/**
 * Every table of the store. Row types are inferred from these definitions; migrations in
 * `../migrations` are generated from this file with drizzle-kit (`npm run generate -w @rg/db`).
 *
 * Times are wall-clock milliseconds since the epoch in plain integers, except in the auth
 * tables, which follow better-auth's SQLite schema (`timestamp_ms` Date columns, booleans).
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// ---------------------------------------------------------------------------------------------
// Auth (better-auth core models + admin plugin fields). Keys are better-auth's field names.
// ---------------------------------------------------------------------------------------------

const nowMs = sql`(cast(unixepoch('subsecond') * 1000 as integer))`;

export const user = sqliteTable("user", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  emailVerified: integer("email_verified", { mode: "boolean" }).default(false).notNull(),
  image: text("image"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).default(nowMs).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .default(nowMs)
    .$onUpdate(() => new Date())
    .notNull(),
  role: text("role"),
  banned: integer("banned", { mode: "boolean" }).default(false),
  banReason: text("ban_reason"),
  banExpires: integer("ban_expires", { mode: "timestamp_ms" }),
});

export const session = sqliteTable(
  "session",
  {
    id: text("id").primaryKey(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    token: text("token").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).default(nowMs).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .$onUpdate(() => new Date())
      .notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    impersonatedBy: text("impersonated_by"),
  },
  (t) => [index("session_userId_idx").on(t.userId)],
);

export const account = sqliteTable(
  "account",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    providerId: text("provider_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    accessToken: text("access_token"),
    refreshToken: text("refresh_token"),
    idToken: text("id_token"),
    accessTokenExpiresAt: integer("access_token_expires_at", { mode: "timestamp_ms" }),
    refreshTokenExpiresAt: integer("refresh_token_expires_at", { mode: "timestamp_ms" }),
    scope: text("scope"),
    password: text("password"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).default(nowMs).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .$onUpdate(() => new Date())
      .notNull(),
  },
  (t) => [index("account_userId_idx").on(t.userId)],
);

export const verification = sqliteTable(
  "verification",
  {
    id: text("id").primaryKey(),
    identifier: text("identifier").notNull(),
    value: text("value").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).default(nowMs).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .default(nowMs)
      .$onUpdate(() => new Date())
      .notNull(),
  },
  (t) => [index("verification_identifier_idx").on(t.identifier)],
);

// ---------------------------------------------------------------------------------------------
// Control plane: the revision counter, the bootstrap config, operator overrides.
// ---------------------------------------------------------------------------------------------

/** One row (id = 1): the config revision, raised on every change of the effective config. */
export const controlState = sqliteTable("control_state", {
  id: integer("id").primaryKey(),
  revision: integer("revision").notNull().default(0),
  updatedAt: integer("updated_at").notNull().default(0),
});

/** Bootstrap configs as written (raw parsed YAML), newest last. */
export const configBootstrap = sqliteTable("config_bootstrap", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  inputJson: text("input_json").notNull(),
  source: text("source").notNull(),
  revision: integer("revision").notNull(),
  at: integer("at").notNull(),
});

export const overrides = sqliteTable(
  "overrides",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    path: text("path").notNull(),
    /** JSON of the value; NULL means "remove the key" (fall back to the default). */
    valueJson: text("value_json"),
    actor: text("actor").notNull(),
    role: text("role").notNull(),
    reason: text("reason").notNull(),
    requestId: text("request_id"),
    revision: integer("revision").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    /** Set when the override stops applying: cleared, superseded or expired. */
    endedAt: integer("ended_at"),
    endedBy: text("ended_by"),
    endReason: text("end_reason"),
  },
  (t) => [
    index("overrides_live_idx").on(t.endedAt, t.revision),
    index("overrides_path_idx").on(t.path, t.endedAt),
    index("overrides_expires_idx").on(t.expiresAt),
  ],
);

// ---------------------------------------------------------------------------------------------
// Audit log: append-only (UPDATE and DELETE raise an error; see the custom migration).
// ---------------------------------------------------------------------------------------------

export const audit = sqliteTable(
  "audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    actor: text("actor").notNull(),
    role: text("role").notNull(),
    action: text("action").notNull(),
    target: text("target").notNull(),
    beforeJson: text("before_json"),
    afterJson: text("after_json"),
    reason: text("reason").notNull(),
    requestId: text("request_id"),
    outcome: text("outcome", { enum: ["applied", "refused"] }).notNull(),
  },
  (t) => [
    index("audit_at_idx").on(t.at),
    index("audit_actor_idx").on(t.actor, t.at),
    index("audit_action_idx").on(t.action, t.at),
    index("audit_target_idx").on(t.target, t.at),
  ],
);

// ---------------------------------------------------------------------------------------------
// Events and SLI buckets.
// ---------------------------------------------------------------------------------------------

/**
 * Events, stored in chunks: one row holds the events of one flush that share instance, type,
 * route and upstream, as a JSON array of `[at, payload]` sorted by `at` (the payload being the
 * event's own fields; type, at, route and upstream live in the columns). Inserting a row and its
 * index entries costs about as much as inserting one event did, so a chunk of hundreds of
 * events costs little more than their serialisation, and the indexes, being per chunk, can
 * cover every read. A chunk spans at most EVENT_CHUNK_SPAN_MS and EVENT_CHUNK_MAX_EVENTS events
 * (see events.ts), so a bound on `at` becomes a range on `last_at`, the last column of every
 * index.
 */
export const eventChunks = sqliteTable(
  "event_chunks",
  {
    /**
     * The rowid, without AUTOINCREMENT: that would update sqlite_sequence on every insert,
     * and retention deletes the oldest rows, so ids keep rising anyway. An event's id is
     * `id * EVENT_CHUNK_MAX_EVENTS + its index in the chunk`.
     */
    id: integer("id").primaryKey(),
    instance: text("instance").notNull(),
    type: text("type").notNull(),
    route: text("route"),
    upstream: text("upstream"),
    firstAt: integer("first_at").notNull(),
    lastAt: integer("last_at").notNull(),
    count: integer("count").notNull(),
    /** JSON: `[[at, payload], ...]`, sorted by at (stable: equal times keep insertion order). */
    events: text("events").notNull(),
  },
  // Each read filters on at most route or upstream and one type (several types are read one
  // type at a time), so one of these always matches its equalities and yields chunks in
  // `last_at` order without a sort. Retention deletes by `last_at`.
  (t) => [
    index("event_chunks_last_at_idx").on(t.lastAt),
    index("event_chunks_type_idx").on(t.type, t.lastAt),
    index("event_chunks_upstream_idx").on(t.upstream, t.lastAt),
    index("event_chunks_upstream_type_idx").on(t.upstream, t.type, t.lastAt),
    index("event_chunks_route_idx").on(t.route, t.lastAt),
    index("event_chunks_route_type_idx").on(t.route, t.type, t.lastAt),
  ],
);

const sliColumns = {
  start: integer("start").notNull(),
  route: text("route").notNull(),
  upstream: text("upstream").notNull(),
  success: integer("success").notNull().default(0),
  http5xx: integer("http_5xx").notNull().default(0),
  connectError: integer("connect_error").notNull().default(0),
  timeout: integer("timeout").notNull().default(0),
  rateLimited: integer("rate_limited").notNull().default(0),
  clientError: integer("client_error").notNull().default(0),
  rejected: integer("rejected").notNull().default(0),
  retries: integer("retries").notNull().default(0),
  fallbacks: integer("fallbacks").notNull().default(0),
  slow: integer("slow").notNull().default(0),
  /** JSON array of LATENCY_CELLS histogram counts. */
  latency: text("latency").notNull(),
};

/**
 * Second buckets, written every second. The table is WITHOUT ROWID (set in migration 0004,
 * which drizzle-kit cannot express; keep it if the table is ever rebuilt) and clustered on
 * (start, route, upstream): one second's rows land on a few adjacent pages instead of one
 * page per route in a separate key index, so a flush writes a fraction of the WAL frames.
 */
export const sliSeconds = sqliteTable("sli_seconds", sliColumns, (t) => [
  primaryKey({ columns: [t.start, t.route, t.upstream] }),
  index("sli_seconds_upstream_idx").on(t.upstream, t.start),
]);

export const sliMinutes = sqliteTable("sli_minutes", sliColumns, (t) => [
  primaryKey({ columns: [t.route, t.upstream, t.start] }),
  index("sli_minutes_start_idx").on(t.start),
  index("sli_minutes_upstream_idx").on(t.upstream, t.start),
]);

/** Hour roll-ups of the minute table, so month-long charts read hundreds of rows, not 40 000s. */
export const sliHours = sqliteTable("sli_hours", sliColumns, (t) => [
  primaryKey({ columns: [t.route, t.upstream, t.start] }),
  index("sli_hours_start_idx").on(t.start),
  index("sli_hours_upstream_idx").on(t.upstream, t.start),
]);

/** Small key/value table for store bookkeeping (roll-up watermark...). */
export const storeMeta = sqliteTable("store_meta", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});

// ---------------------------------------------------------------------------------------------
// Live state.
// ---------------------------------------------------------------------------------------------

export const instances = sqliteTable("instances", {
  instanceId: text("instance_id").primaryKey(),
  heartbeatAt: integer("heartbeat_at").notNull(),
  snapshot: text("snapshot").notNull(),
});

// ---------------------------------------------------------------------------------------------
// Incidents and runbook runs.
// ---------------------------------------------------------------------------------------------

export const incidents = sqliteTable(
  "incidents",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    scopeKind: text("scope_kind", { enum: ["upstream", "route", "gateway"] }).notNull(),
    scopeId: text("scope_id").notNull(),
    trigger: text("trigger").notNull(),
    title: text("title").notNull(),
    status: text("status", { enum: ["open", "acknowledged", "resolved"] }).notNull(),
    openedAt: integer("opened_at").notNull(),
    lastActivityAt: integer("last_activity_at").notNull(),
    acknowledgedBy: text("acknowledged_by"),
    acknowledgedAt: integer("acknowledged_at"),
    resolvedBy: text("resolved_by"),
    resolvedAt: integer("resolved_at"),
    summary: text("summary"),
  },
  (t) => [
    index("incidents_status_idx").on(t.status, t.openedAt),
    index("incidents_scope_idx").on(t.scopeKind, t.scopeId, t.status),
  ],
);

export const incidentNotes = sqliteTable(
  "incident_notes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    incidentId: integer("incident_id")
      .notNull()
      .references(() => incidents.id, { onDelete: "cascade" }),
    author: text("author").notNull(),
    body: text("body").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("incident_notes_incident_idx").on(t.incidentId, t.at)],
);

export const runbookRuns = sqliteTable(
  "runbook_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runbook: text("runbook").notNull(),
    actor: text("actor").notNull(),
    role: text("role").notNull(),
    reason: text("reason").notNull(),
    status: text("status", { enum: ["running", "done", "failed"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("runbook_runs_runbook_idx").on(t.runbook, t.startedAt)],
);

export const runbookSteps = sqliteTable(
  "runbook_steps",
  {
    runId: integer("run_id")
      .notNull()
      .references(() => runbookRuns.id, { onDelete: "cascade" }),
    step: integer("step").notNull(),
    status: text("status", { enum: ["running", "done", "failed"] }).notNull(),
    detail: text("detail"),
    at: integer("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.step] })],
);
