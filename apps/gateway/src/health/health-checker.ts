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
          let req: http.ClientRequest | undefined;
          // The whole answer, body included, must arrive in time: a socket timeout alone
          // would pass an endpoint that sends its headers and then stalls, and its next
          // probes would queue behind the stalled one for good.
          const deadline = setTimeout(() => {
            req?.destroy();
            finish(false, `timed out after ${hc.timeoutMs} ms`);
          }, hc.timeoutMs);
          deadline.unref();
          const finish = (passed: boolean, detail: string) => {
            if (done) return;
            done = true;
            clearTimeout(deadline);
            probe.req = undefined;
            if (gen !== this.generation) return;
            try {
              target.recordHealthCheck(endpointId, passed, detail);
            } catch {
              // The endpoint may have been removed by a config change in between.
            }
            schedule(target.healthCheckIntervalMs(endpointId));
          };
          try {
            req = http.get(url, { agent: this.agent }, (res) => {
              const status = res.statusCode ?? 0;
              const ok = hc.expectStatus.includes(status);
              res.on("end", () => {
                const ms = Math.round(performance.now() - started);
                finish(ok, ok ? `HTTP ${status} in ${ms} ms` : `unexpected HTTP ${status}`);
              });
              res.on("error", (e: Error & { code?: string }) => finish(false, e.code ?? e.message));
              // After "end" this is a no-op; before it, the answer was cut off.
              res.on("close", () => finish(false, `HTTP ${status}, body cut off`));
              res.resume();
            });
          } catch (e) {
            // A probe that cannot even be sent fails; it must not throw out of a timer.
            finish(false, (e as { code?: string }).code ?? String(e));
            return;
          }
          probe.req = req;
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
