export { Deadline, attemptTimeoutMs } from "./deadline";
