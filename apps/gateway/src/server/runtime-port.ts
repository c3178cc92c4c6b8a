/**
 * The slice of the core's ResilienceRuntime the request path and the telemetry use, so either
 * can be exercised with any runtime of this shape.
 */
import type {
  Attempt,
  AttemptResult,
  Config,
  InstanceSnapshot,
  Outcome,
  PipelineRequest,
  PipelineResult,
  RateLimitDecision,
  SliBucket,
  SliSample,
} from "@rg/core";

export { isIdempotentMethod, rateLimitHeaders } from "@rg/core";

export type RateLimitDecisionLike = RateLimitDecision;
export type PipelineResultOf<R> = PipelineResult<R>;

export interface PipelineLike {
  execute<R>(
    req: PipelineRequest,
    call: (a: Attempt) => Promise<AttemptResult<R>>,
    discard: (r: R) => void,
  ): Promise<PipelineResult<R>>;
}

export interface HealthTargetLike {
  /** Passive outlier detection: one classified call (a tunnel's end, see deferSuccess). */
  record(id: string, outcome: Outcome): void;
  recordHealthCheck(id: string, passed: boolean, detail: string): void;
  healthCheckIntervalMs(id: string): number;
}

export interface RuntimePort {
  apply(config: Config): void;
  pipeline(routeId: string): PipelineLike | undefined;
  upstream(id: string): { endpoints: HealthTargetLike } | undefined;
  /** Once a second: adaptive rate limits and other periodic state. */
  tick(): void;
  snapshot(): Pick<InstanceSnapshot, "upstreams" | "routes">;
  sli: {
    drain(beforeWallMs: number): SliBucket[];
    record(route: string, upstream: string, sample: SliSample): void;
  };
}
