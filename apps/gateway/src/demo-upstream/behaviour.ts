import type { Random } from "@rg/core";
import { mathRandom } from "@rg/core";
import { SeededRandom } from "@rg/core/testing";

/**
 * How a demo service (or one of its ports) misbehaves. Every rate is a probability in [0, 1]
 * drawn independently per request, in the order of {@link FAULT_ORDER}; the first fault drawn wins.
 */
export interface Behaviour {
  /** Probability of answering `errorStatus` instead of the normal response. */
  errorRate: number;
  errorStatus: number;
  /** Fixed delay before answering. */
  latencyMs: number;
  /** Uniform extra delay in [0, latencyJitterMs). */
  latencyJitterMs: number;
  /** Probability of never answering (the socket stays open until the client gives up). */
  hangRate: number;
  /** Probability of destroying the socket before any byte of the response. */
  resetRate: number;
  /** Probability of announcing a Content-Length, sending half the body and destroying the socket. */
  truncateRate: number;
  /** Probability of 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Probability of a response carrying a header line a conforming client must reject. */
  invalidHeaderRate: number;
  /** Stop listening: new connections are refused and open ones are closed. */
  down: boolean;
  /** Seed for the fault draws; absent means Math.random. */
  seed?: number;
}

export const HEALTHY: Readonly<Behaviour> = Object.freeze({
  errorRate: 0,
  errorStatus: 500,
  latencyMs: 0,
  latencyJitterMs: 0,
  hangRate: 0,
  resetRate: 0,
  truncateRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  invalidHeaderRate: 0,
  down: false,
});

export type Fault = "hang" | "reset" | "truncate" | "invalidHeader" | "rateLimit" | "error";

/** Draw order: a request that hangs is never also counted as an error. */
export const FAULT_ORDER: readonly Fault[] = [
  "hang",
  "reset",
  "truncate",
  "invalidHeader",
  "rateLimit",
  "error",
];

const RATE_OF: Record<Fault, keyof Behaviour> = {
  hang: "hangRate",
  reset: "resetRate",
  truncate: "truncateRate",
  invalidHeader: "invalidHeaderRate",
  rateLimit: "rateLimitRate",
  error: "errorRate",
};

const RATES = [
  "errorRate",
  "hangRate",
  "resetRate",
  "truncateRate",
  "rateLimitRate",
  "invalidHeaderRate",
] as const;
const DURATIONS = ["latencyMs", "latencyJitterMs", "retryAfterSeconds"] as const;

export type BehaviourParse = { ok: true; value: Behaviour } | { ok: false; issues: string[] };

/**
 * Validate a behaviour sent over the control API. Missing keys take the healthy default, so
 * `{}` means "healthy" and a PUT always describes the whole behaviour.
 */
export function parseBehaviour(input: unknown): BehaviourParse {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: ["body: expected a JSON object"] };
  }
  const raw = input as Record<string, unknown>;
  const issues: string[] = [];
  const out: Behaviour = { ...HEALTHY };
  const known = new Set<string>([...RATES, ...DURATIONS, "errorStatus", "down", "seed"]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) issues.push(`${key}: unknown key`);
  }
  for (const key of RATES) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) issues.push(`${key}: expected 0..1`);
    else out[key] = v;
  }
  for (const key of DURATIONS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) issues.push(`${key}: expected ≥ 0`);
    else out[key] = v;
  }
  if (raw.errorStatus !== undefined) {
    const v = raw.errorStatus;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 100 || v > 599) {
      issues.push("errorStatus: expected an HTTP status 100..599");
    } else out.errorStatus = v;
  }
  if (raw.down !== undefined) {
    if (typeof raw.down !== "boolean") issues.push("down: expected a boolean");
    else out.down = raw.down;
  }
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== "number" || !Number.isInteger(raw.seed)) {
      issues.push("seed: expected an integer");
    } else out.seed = raw.seed;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/** A behaviour with its own random stream, so a seeded behaviour replays the same draws. */
export class ActiveBehaviour {
  readonly random: Random;
  constructor(readonly value: Behaviour) {
    this.random = value.seed === undefined ? mathRandom : new SeededRandom(value.seed);
  }

  /** The fault this request suffers, if any. Rates of 0 consume no draw. */
  drawFault(): Fault | undefined {
    for (const fault of FAULT_ORDER) {
      const rate = this.value[RATE_OF[fault]] as number;
      if (rate > 0 && this.random.next() < rate) return fault;
    }
    return undefined;
  }

  delayMs(): number {
    const { latencyMs, latencyJitterMs } = this.value;
    return latencyMs + (latencyJitterMs > 0 ? this.random.next() * latencyJitterMs : 0);
  }
}
