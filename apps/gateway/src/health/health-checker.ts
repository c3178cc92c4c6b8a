/**
 * Active health checks: one GET per endpoint per interval (faster while unhealthy), results
 * fed to the core's EndpointSet, which applies rise/fall. Only for upstreams with
 * healthCheck.enabled; restarted whenever the config changes. Timers never hold the process.
 */
import http from "node:http";
import type { Config } from "@rg/core";

export interface HealthTarget {
  recordHealthCheck(id: string, passed: boolean, detail: string): void;
  healthCheckIntervalMs(id: string): number;
}

interface Probe {
  timer: NodeJS.Timeout | undefined;
  req: http.ClientRequest | undefined;
}

export class HealthChecker {
  private probes: Probe[] = [];
  private generation = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly targetOf: (upstream: string) => HealthTarget | undefined) {}

  /** Stop every probe and start those the config asks for. */
  restart(config: Config): void {
    this.stop();
    const gen = ++this.generation;
    for (const [upstreamId, u] of Object.entries(config.upstreams)) {
      const hc = u.healthCheck;
      if (!hc.enabled) continue;
      for (const [endpointId, ep] of Object.entries(u.endpoints)) {
        const probe: Probe = { timer: undefined, req: undefined };
        this.probes.push(probe);
        const url = new URL(hc.path, ep.url);
        const run = () => {
          if (gen !== this.generation) return;
          const target = this.targetOf(upstreamId);
          if (!target) return;
          const started = performance.now();
          let done = false;
          const finish = (passed: boolean, detail: string) => {
            if (done) return;
            done = true;
            probe.req = undefined;
            if (gen !== this.generation) return;
            try {
              target.recordHealthCheck(endpointId, passed, detail);
            } catch {
              // The endpoint may have been removed by a config change in between.
            }
            schedule(target.healthCheckIntervalMs(endpointId));
          };
          const req = http.get(url, { agent: this.agent, timeout: hc.timeoutMs }, (res) => {
            res.resume();
            const ms = Math.round(performance.now() - started);
            const ok = hc.expectStatus.includes(res.statusCode ?? 0);
            res.on("error", () => {});
            finish(
              ok,
              ok ? `HTTP ${res.statusCode} in ${ms} ms` : `unexpected HTTP ${res.statusCode}`,
            );
          });
          probe.req = req;
          req.on("timeout", () => {
            req.destroy();
            finish(false, `timed out after ${hc.timeoutMs} ms`);
          });
          req.on("error", (e: Error & { code?: string }) => finish(false, e.code ?? e.message));
        };
        const schedule = (ms: number) => {
          if (gen !== this.generation) return;
          probe.timer = setTimeout(run, ms);
          probe.timer.unref();
        };
        // First probe soon, spread a little so endpoints are not hit in lockstep.
        schedule(Math.min(hc.intervalMs, 50 + this.probes.length * 10));
      }
    }
  }

  stop(): void {
    this.generation++;
    for (const p of this.probes) {
      if (p.timer) clearTimeout(p.timer);
      p.req?.destroy();
    }
    this.probes = [];
  }

  close(): void {
    this.stop();
    this.agent.destroy();
  }
}
