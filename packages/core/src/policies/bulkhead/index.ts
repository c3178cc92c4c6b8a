export { Bulkhead } from "./bulkhead";
export type {
  BulkheadOptions,
  BulkheadPermit,
  BulkheadRejection,
  BulkheadRejectionReason,
  BulkheadResult,
} from "./bulkhead.options";
