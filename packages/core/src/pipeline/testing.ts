/**
 * A scripted stand-in for the gateway around a pipeline, for tests and the benchmark: a fake
 * `call` that answers from a script, a FakeClock-driven `settle`, and a config builder.
 */
import { configSchema, type Config } from "../config/schema";
import { EventBus, type ResilienceEvent } from "../events";
import { classify, type Outcome } from "../outcome";
import type { Clock, Random } from "../ports";
import { FakeClock } from "../testing/fake-clock";
import { SeededRandom } from "../testing/seeded-random";
import { ResilienceRuntime } from "./runtime";
import type { Attempt, AttemptResult, PipelineRequest, PipelineResult } from "./types";

export interface FakeResponse {
  status: number;
  /** Sequence number of the response, to tell which one was passed through or discarded. */
  n: number;
}

export type Script = (
  a: Attempt,
) => AttemptResult<FakeResponse> | Promise<AttemptResult<FakeResponse>>;

/** Two upstreams, `api` (endpoints a and b) and `backup` (endpoint m), and route `r` → api. */
export function testConfig(
  route: Record<string, unknown> = {},
  api: Record<string, unknown> = {},
  extra: { upstreams?: Record<string, unknown>; routes?: Record<string, unknown> } = {},
): Config {
  return configSchema.parse({
    upstreams: {
      api: {
        endpoints: { a: { url: "http://127.0.0.1:1001" }, b: { url: "http://127.0.0.1:1002" } },
        ...api,
      },
      backup: { endpoints: { m: { url: "http://127.0.0.1:1003" } } },
      ...extra.upstreams,
    },
    routes: { r: { match: { pathPrefix: "/" }, upstream: "api", ...route }, ...extra.routes },
  });
}

const flushMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

export class PipelineHarness {
  readonly clock: FakeClock;
  readonly random: Random;
  readonly events = new EventBus();
  readonly seen: ResilienceEvent[] = [];
  readonly runtime: ResilienceRuntime;
  readonly calls: (Attempt & { at: number })[] = [];
  readonly discarded: FakeResponse[] = [];
  private n = 0;
  script: Script = () => this.respond(200);

  constructor(config: Config, opts: { clock?: FakeClock; random?: Random } = {}) {
    this.clock = opts.clock ?? new FakeClock();
    this.random = opts.random ?? new SeededRandom(7);
    this.events.on((e) => this.seen.push(e));
    this.runtime = new ResilienceRuntime({
      clock: this.clock as Clock,
      random: this.random,
      events: this.events,
    });
    this.runtime.apply(config);
  }

  respond(status: number, retryAfter?: string): AttemptResult<FakeResponse> {
    const outcome: Outcome = classify({
      status,
      durationMs: 1,
      retryAfter,
      wallNow: this.clock.wallNow(),
    });
    return { outcome, response: { status, n: ++this.n } };
  }

  /** An attempt that never answers: resolves as a timeout when its signal aborts. */
  hang(a: Attempt): Promise<AttemptResult<FakeResponse>> {
    const started = this.clock.now();
    return new Promise((resolve) => {
      a.signal.addEventListener("abort", () =>
        resolve({ outcome: classify({ timedOut: true, durationMs: this.clock.now() - started }) }),
      );
    });
  }

  start(req: Partial<PipelineRequest> = {}, route = "r"): Promise<PipelineResult<FakeResponse>> {
    const pipeline = this.runtime.pipeline(route);
    if (!pipeline) throw new Error(`no pipeline for ${route}`);
    return pipeline.execute(
      {
        method: "GET",
        consumerKey: "c1",
        tier: "default",
        retryable: true,
        hasStale: false,
        ...req,
      },
      async (a) => {
        this.calls.push({ ...a, at: this.clock.now() });
        return this.script(a);
      },
      (r) => this.discarded.push(r),
    );
  }

  /** Run one request to its end, advancing the fake clock in `stepMs` steps while it waits. */
  async run(
    req: Partial<PipelineRequest> = {},
    route = "r",
    stepMs = 10,
  ): Promise<PipelineResult<FakeResponse>> {
    return this.settle(this.start(req, route), stepMs);
  }

  async settle<T>(p: Promise<T>, stepMs = 10, limitMs = 600_000): Promise<T> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await flushMacrotask();
    for (let t = 0; !done && t < limitMs; t += stepMs) {
      this.clock.advance(stepMs);
      await flushMacrotask();
    }
    return p;
  }

  eventsOf<T extends ResilienceEvent["type"]>(type: T): Extract<ResilienceEvent, { type: T }>[] {
    return this.seen.filter((e): e is Extract<ResilienceEvent, { type: T }> => e.type === type);
  }
}
