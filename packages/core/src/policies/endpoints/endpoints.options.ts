import type { UpstreamConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { Clock, Random } from "../../ports";

export interface EndpointSetOptions {
  /** Upstream id: names the set in events and snapshots. */
  upstream: string;
  config: UpstreamConfig;
  clock: Clock;
  random: Random;
  events?: EventBus;
}

/** The endpoint a request goes to. One frozen object per endpoint, reused by every pick. */
export interface EndpointChoice {
  readonly id: string;
  readonly url: string;
}

/** Fraction of its weight a just-recovered endpoint starts slow start with. */
export const SLOW_START_INITIAL_FRACTION = 0.1;
