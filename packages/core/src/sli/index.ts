export * from "./buckets";
export * from "./recorder";
export * from "./error-budget";
