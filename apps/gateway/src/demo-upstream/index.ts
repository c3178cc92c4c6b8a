export { startDemoUpstream } from "./demo-upstream";
export type { DemoUpstream, DemoUpstreamOptions } from "./demo-upstream";
export { HEALTHY, parseBehaviour } from "./behaviour";
export type { Behaviour, Fault } from "./behaviour";
export type { ServiceStats } from "./stats";
export type { ServiceState } from "./service";
export { DEMO_SERVICES } from "./services";
