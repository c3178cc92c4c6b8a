export * from "./ports";
export * from "./outcome";
export * from "./errors";
export * from "./events";
export * from "./config/index";
export * from "./sli/index";
export * from "./snapshot";
export * from "./mode/index";
