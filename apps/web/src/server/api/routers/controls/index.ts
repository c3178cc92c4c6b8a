import { createTRPCRouter } from "../../trpc";
import { applied } from "./applied";
import { clearOverride } from "./clear-override";
import { forceBreaker } from "./force-breaker";
import { setFaultInjection } from "./set-fault-injection";
import { setFields } from "./set-fields";
import { setMode } from "./set-mode";
import { setValue } from "./set-value";
import { shiftTraffic } from "./shift-traffic";
import { shiftWeights } from "./shift-weights";

export const controlsRouter = createTRPCRouter({
  setValue,
  setFields,
  clearOverride,
  forceBreaker,
  setMode,
  shiftWeights,
  shiftTraffic,
  setFaultInjection,
  applied,
});
