export * from "./mode";
