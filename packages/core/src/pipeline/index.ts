export * from "./types";
export * from "./runtime";
export * from "./route-pipeline";
export * from "./upstream-runtime";
export * from "./shift";
export * from "./abort";
