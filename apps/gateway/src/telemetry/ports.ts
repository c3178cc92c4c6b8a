/**
 * What the gateway needs from the store, as narrow ports: the db package implements them,
 * and tests can hand in failing or slow ones.
 */
import type { Config, ConfigIssue, InstanceSnapshot, ResilienceEvent, SliBucket } from "@rg/core";

export interface WriterStats {
  queued: number;
  written: number;
  dropped: Record<string, number>;
  /** SLI buckets dropped (any reason). */
  droppedSli?: number;
  healthy?: boolean;
  lastError?: string;
  /** Where the store writes run: a writer thread, or the event loop. */
  mode?: "thread" | "in_thread";
  /** Why the writer thread stopped, if it did. */
  threadError?: string;
}

export interface EventWriterPort {
  enqueueEvent(e: ResilienceEvent): boolean;
  enqueueSli(buckets: SliBucket[]): void;
  setSnapshot(s: InstanceSnapshot): void;
  stats(): WriterStats;
  close(): Promise<void>;
}

export type EffectiveConfigResult =
  { revision: number; config: Config } | { revision: number; issues: ConfigIssue[] };

export interface ControlStorePort {
  currentRevision(): number;
  effectiveConfig(nowWall: number): EffectiveConfigResult;
  expireOverrides(nowWall: number): unknown;
}
