// The demo upstream as a process: `npm run demo-upstream -w @rg/gateway [-- flags]`.
//   --host 127.0.0.1  --control-port 4100  --port-offset 0
//   --service name=port[,port][:cacheable]   (repeatable; replaces the example's services)
// Prints one JSON line with the ports actually bound, then serves until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startDemoUpstream } from "./demo-upstream";
import { readDemoEnv } from "./env";
import { DEMO_CONTROL_PORT, DEMO_SERVICES } from "./services";

function parseService(spec: string): [string, { ports: number[]; cacheable: boolean }] {
  const match = /^([\w-]+)=([\d,]+)(:cacheable)?$/.exec(spec);
  if (!match?.[1] || !match[2])
    throw new Error(`--service ${spec}: expected name=port[,port][:cacheable]`);
  return [match[1], { ports: match[2].split(",").map(Number), cacheable: match[3] !== undefined }];
}

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    "control-port": { type: "string" },
    "port-offset": { type: "string" },
    service: { type: "string", multiple: true },
  },
});
const env = readDemoEnv();
const offset =
  values["port-offset"] !== undefined ? Number(values["port-offset"]) : (env.portOffset ?? 0);
const services = values.service?.length
  ? Object.fromEntries(values.service.map(parseService))
  : Object.fromEntries(
      Object.entries(DEMO_SERVICES).map(([name, s]) => [
        name,
        { ...s, ports: s.ports.map((p) => p + offset) },
      ]),
    );
const controlPort =
  values["control-port"] !== undefined
    ? Number(values["control-port"])
    : (env.controlPort ?? DEMO_CONTROL_PORT + offset);

const demo = await startDemoUpstream({ host: values.host ?? env.host, controlPort, services });
console.log(
  JSON.stringify({
    ready: true,
    host: demo.host,
    controlPort: demo.controlPort,
    services: demo.services,
  }),
);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  demo.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
