export { CircuitBreaker } from "./circuit-breaker";
export { openDurationFor } from "./circuit-breaker.options";
export type {
  BreakerAdmission,
  BreakerPermit,
  BreakerRejection,
  CircuitBreakerOptions,
} from "./circuit-breaker.options";
export type { TripStrategy } from "./strategy";
export { RateStrategy } from "./rate-strategy";
export { ConsecutiveStrategy } from "./consecutive-strategy";
