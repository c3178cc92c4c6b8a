import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseBehaviour } from "./behaviour";
import type { Behaviour } from "./behaviour";
import { DemoService } from "./service";
import type { ServiceState } from "./service";
import { emptyStats } from "./stats";
import type { ServiceStats } from "./stats";

export interface DemoUpstreamOptions {
  /** Loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  controlPort?: number;
  /** Service name → ports (0 picks a free port) and whether responses are cacheable. */
  services: Record<string, { ports: number[]; cacheable?: boolean }>;
}

export interface DemoUpstream {
  host: string;
  controlPort: number;
  services: Record<string, { ports: number[] }>;
  /** In-process equivalents of the control API, for harnesses that start the upstream themselves. */
  setBehaviour(service: string, behaviour: Partial<Behaviour>, port?: number): Promise<void>;
  stats(service: string): ServiceStats;
  state(): Record<string, ServiceState>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start the demo services and their control API:
 *
 * - `GET  /services` → `{ services: { [name]: state + stats } }`
 * - `GET  /services/:name` and `GET /services/:name/stats`
 * - `PUT  /services/:name/behaviour[?port=N]` with a {@link Behaviour} (missing keys healthy);
 *   without `port` it replaces the service's behaviour and clears per-port overrides
 * - `DELETE /services/:name/stats` zeroes one service's counters
 * - `POST /reset`: every service healthy, listening and with zeroed counters
 */
export async function startDemoUpstream(opts: DemoUpstreamOptions): Promise<DemoUpstream> {
  const host = opts.host ?? "127.0.0.1";
  const services = new Map<string, DemoService>();
  try {
    for (const [name, spec] of Object.entries(opts.services)) {
      const svc = new DemoService(name, spec.cacheable ?? false, host);
      services.set(name, svc);
      await svc.listen(spec.ports);
    }
  } catch (err) {
    await Promise.all([...services.values()].map((s) => s.close()));
    throw err;
  }

  const setBehaviour = async (name: string, input: unknown, port?: number): Promise<void> => {
    const svc = services.get(name);
    if (!svc) throw new ControlError(404, `unknown service ${name}`);
    if (port !== undefined && !svc.hasPort(port)) {
      throw new ControlError(404, `${name} does not listen on port ${port}`);
    }
    const parsed = parseBehaviour(input);
    if (!parsed.ok) throw new ControlError(400, parsed.issues.join("; "));
    await svc.setBehaviour(parsed.value, port);
  };
  const reset = async () => {
    await Promise.all([...services.values()].map((s) => s.reset()));
  };
  const state = () => Object.fromEntries([...services].map(([name, svc]) => [name, svc.state()]));

  const control = http.createServer((req, res) => {
    handleControl(req, res).catch((err: unknown) => {
      const status = err instanceof ControlError ? err.status : 500;
      sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://control.invalid");
    const parts = url.pathname.split("/").filter(Boolean);
    const method = req.method ?? "GET";
    if (method === "GET" && url.pathname === "/health") return sendJson(res, 200, { status: "ok" });
    if (method === "GET" && url.pathname === "/services") {
      return sendJson(res, 200, { services: state() });
    }
    if (method === "POST" && url.pathname === "/reset") {
      await reset();
      return sendJson(res, 200, { services: state() });
    }
    if (parts[0] === "services" && parts[1] !== undefined) {
      const name = decodeURIComponent(parts[1]);
      const svc = services.get(name);
      if (!svc) throw new ControlError(404, `unknown service ${name}`);
      const rest = parts.slice(2).join("/");
      if (method === "GET" && rest === "") return sendJson(res, 200, svc.state());
      if (method === "GET" && rest === "stats") return sendJson(res, 200, svc.stats);
      if (method === "DELETE" && rest === "stats") {
        svc.stats = emptyStats();
        return sendJson(res, 200, svc.stats);
      }
      if (method === "PUT" && rest === "behaviour") {
        const portParam = url.searchParams.get("port");
        const port = portParam === null ? undefined : Number(portParam);
        if (port !== undefined && !Number.isInteger(port)) {
          throw new ControlError(400, "port: expected an integer");
        }
        await setBehaviour(name, await readJson(req), port);
        return sendJson(res, 200, svc.state());
      }
    }
    throw new ControlError(404, `no control route for ${method} ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    control.once("error", reject);
    control.listen(opts.controlPort ?? 0, host, () => resolve());
  }).catch(async (err: unknown) => {
    await Promise.all([...services.values()].map((s) => s.close()));
    throw err;
  });
  const address = control.address();
  const controlPort = typeof address === "object" && address ? address.port : 0;

  return {
    host,
    controlPort,
    services: Object.fromEntries([...services].map(([name, svc]) => [name, { ports: svc.ports }])),
    setBehaviour: (name, behaviour, port) => setBehaviour(name, behaviour, port),
    stats(name) {
      const svc = services.get(name);
      if (!svc) throw new Error(`unknown service ${name}`);
      return svc.stats;
    },
    state,
    reset,
    async close() {
      const closed = new Promise<void>((resolve) => control.close(() => resolve()));
      control.closeAllConnections();
      await Promise.all([closed, ...[...services.values()].map((s) => s.close())]);
    },
  };
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlError(400, "body: invalid JSON");
  }
}
