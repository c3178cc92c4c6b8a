export { chooseFallback, FALLBACK_ERROR } from "./fallback";
export type { FallbackCause, FallbackDecision, FallbackInput, StaticResponse } from "./fallback";
