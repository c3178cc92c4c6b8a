export { EndpointSet } from "./endpoint-set";
export { SLOW_START_INITIAL_FRACTION } from "./endpoints.options";
export type { EndpointChoice, EndpointSetOptions } from "./endpoints.options";
