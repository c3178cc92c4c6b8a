/**
 * The store: the only owner of schema and SQL. Apps call these named functions; the auth
 * tables alone are exported raw, through `@rg/db/schema`, for the dashboard's auth library.
 */
export { openStore, dataVersion, writeTx, MIGRATIONS_FOLDER } from "./store";
export type { Store, Db, OpenStoreOptions } from "./store";
export {
  seedBootstrapConfig,
  currentRevision,
  effectiveConfig,
  configSources,
  lastValidConfig,
  setOverride,
  clearOverride,
  listOverrides,
  expireOverrides,
  nextExpiryAt,
  setMode,
  readModes,
  modePath,
} from "./config";
export type {
  OverrideRow,
  EffectiveConfig,
  LastValidConfig,
  ChangeResult,
  SetOverrideInput,
  ClearOverrideInput,
  SetModeInput,
  Modes,
} from "./config";
export { appendAudit, queryAudit } from "./audit";
export type { AuditInput, AuditEntry, AuditQuery, AuditPage, AuditOutcome } from "./audit";
export { appendEvents, queryEvents, EVENT_CHUNK_MAX_EVENTS, EVENT_CHUNK_SPAN_MS } from "./events";
export type { StoredEvent, EventQuery } from "./events";
export { createEventWriter, classifyStoreError } from "./writer";
export type {
  EventWriter,
  EventWriterOptions,
  EventWriterStats,
  FlushInfo,
  DropReason,
} from "./writer";
export {
  writeSliBuckets,
  rollupMinutes,
  rollupHours,
  runRetention,
  readSliSeries,
  readSliSummary,
  SECONDS_RANGE_LIMIT_MS,
  MINUTES_RANGE_LIMIT_MS,
  SECONDS_KEEP_MS,
  MINUTES_KEEP_MS,
} from "./sli";
export type {
  SliPoint,
  SliTotals,
  SliSummaryRow,
  SliSeriesQuery,
  SliSummaryQuery,
  RetentionOptions,
  RetentionResult,
  SliResolution,
} from "./sli";
export { writeSnapshot, readInstances, readCircuitStates, ALIVE_MS } from "./live";
export type { InstanceState, CircuitState } from "./live";
export {
  updateIncidentsFromEvents,
  closeQuietIncidents,
  listIncidents,
  getIncident,
  incidentTimeline,
  acknowledgeIncident,
  annotateIncident,
  resolveIncident,
  incidentSignal,
} from "./incidents";
export type {
  Incident,
  IncidentNote,
  IncidentStatus,
  IncidentScopeKind,
  TimelineItem,
} from "./incidents";
export { startRunbookRun, updateRunbookStep, finishRunbookRun, listRunbookRuns } from "./runbooks";
export type { RunbookRun, RunbookStepRow, RunbookStatus } from "./runbooks";
export { runMaintenance } from "./maintenance";
export type { MaintenanceResult } from "./maintenance";
export { countUsers, ROLES, createUser, setUserRole, removeUser } from "./users";
export type { Role, NewUser, UserChangeBy, UserChangeRefusal } from "./users";
