/**
 * Active health checks: one GET per endpoint per interval (faster while unhealthy), results
 * fed to the core's EndpointSet, which applies rise/fall. Only for upstreams with
 * healthCheck.enabled; restarted whenever the config changes. Timers never hold the process.
 */
import http from "node:http";
import type { Config, UpstreamConfig } from "@rg/core";

export interface HealthTarget {
  recordHealthCheck(id: string, passed: boolean, detail: string): void;
  healthCheckIntervalMs(id: string): number;
}

/** One endpoint's probe, as a config asks for it. */
interface ProbeSpec {
  upstream: string;
  endpoint: string;
  url: URL;
  hc: UpstreamConfig["healthCheck"];
}

/** The probes of one config, built by `plan()` and started by `start()`. */
export interface HealthPlan {
  readonly probes: readonly ProbeSpec[];
}

interface Probe {
  timer: NodeJS.Timeout | undefined;
  req: http.ClientRequest | undefined;
  /**
   * The probe's own keep-alive socket. A shared pool would make the probes of upstreams on the
   * same host and port wait for each other, and the wait would count against their timeouts.
   */
  agent: http.Agent;
}

export class HealthChecker {
  private probes: Probe[] = [];
  private generation = 0;

  constructor(private readonly targetOf: (upstream: string) => HealthTarget | undefined) {}

  /**
   * The probes `config` asks for. Throws, naming every endpoint whose probe URL cannot be
   * built or would leave the endpoint's host, so a caller can refuse the config before
   * stopping the probes it runs now.
   */
  plan(config: Config): HealthPlan {
    const probes: ProbeSpec[] = [];
    const problems: string[] = [];
    for (const [upstream, u] of Object.entries(config.upstreams)) {
      const hc = u.healthCheck;
      if (!hc.enabled) continue;
      for (const [endpoint, ep] of Object.entries(u.endpoints)) {
        const where = `upstreams.${upstream}.healthCheck.path ${JSON.stringify(hc.path)} on endpoint ${endpoint} (${ep.url})`;
        let url: URL;
        try {
          url = new URL(hc.path, ep.url);
        } catch (e) {
          problems.push(`${where}: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        if (url.host !== new URL(ep.url).host) {
          problems.push(`${where}: resolves to another host (${url.host})`);
          continue;
        }
        probes.push({ upstream, endpoint, url, hc });
      }
    }
    if (problems.length > 0) throw new Error(problems.join("; "));
    return { probes };
  }

  /** Stop every probe and start those of `plan`. */
  start(plan: HealthPlan): void {
    this.stop();
    const gen = ++this.generation;
    for (const spec of plan.probes) {
      // One request at a time: the next probe is scheduled when the last one is done.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
      const probe: Probe = { timer: undefined, req: undefined, agent };
      this.probes.push(probe);
      this.run(spec, probe, gen);
    }
  }

  /** Stop every probe and start those the config asks for; throws as `plan()` does, first. */
  restart(config: Config): void {
    this.start(this.plan(config));
  }

  /** Schedules `spec`'s probes. Whatever one probe throws stays with that probe. */
  private run(spec: ProbeSpec, probe: Probe, gen: number): void {
    const { upstream, endpoint, url, hc } = spec;
    const once = () => {
      if (gen !== this.generation) return;
      const target = this.targetOf(upstream);
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
        let next = hc.intervalMs;
        try {
          target.recordHealthCheck(endpoint, passed, detail);
          next = target.healthCheckIntervalMs(endpoint);
        } catch {
          // The endpoint may have been removed by a config change in between.
        }
        schedule(next);
      };
      try {
        req = http.get(url, { agent: probe.agent }, (res) => {
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
      probe.timer = setTimeout(() => {
        try {
          once();
        } catch {
          // Keep probing: the next interval may find the target again.
          schedule(hc.intervalMs);
        }
      }, ms);
      probe.timer.unref();
    };
    // First probe soon, spread a little so endpoints are not hit in lockstep.
    schedule(Math.min(hc.intervalMs, 50 + this.probes.length * 10));
  }

  stop(): void {
    this.generation++;
    for (const p of this.probes) {
      if (p.timer) clearTimeout(p.timer);
      p.req?.destroy();
      p.agent.destroy();
    }
    this.probes = [];
  }

  close(): void {
    this.stop();
  }
}
