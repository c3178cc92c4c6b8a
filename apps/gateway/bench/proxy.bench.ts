/**
 * Proxy throughput and added latency on loopback. Candidates, each in its own process:
 * this gateway (every policy on, telemetry to SQLite), a bare http-proxy forwarder with a
 * keep-alive agent, @fastify/http-proxy, and nginx as a native reference when installed.
 * Load comes from wrk; candidates are interleaved A B C D, D C B A… for several short rounds
 * and each round's ratios are taken before the median, since absolute req/s drifts on a
 * shared machine. Added latency is then measured at half and at a tenth of the gateway's max
 * rate, with wrk paced to that rate, against the upstream directly and through the gateway,
 * the bare forwarder and nginx, with each one's CPU per request. wrk and nginx
 * are installed from Debian's packages when missing and the bench runs as root. Prints a
 * table and, last, one JSON line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuMicros,
  ensureTools,
  hasCommand,
  median,
  rssMb,
  startChild,
  stopProcess,
  wrk,
  wrkPaced,
  type Child,
} from "./proc";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 3);

interface Candidate {
  name: "gateway" | "httpProxy" | "fastifyProxy" | "nginx" | "direct";
  port: number;
  pid: number;
  stop(): Promise<void>;
}

async function startNginx(upstreamPort: number): Promise<Candidate | undefined> {
  if (!hasCommand("nginx")) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "rg-bench-nginx-"));
  const port = await freePort();
  const conf = `
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream u { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc: ChildProcess = spawn("nginx", ["-c", join(dir, "nginx.conf"), "-p", dir], {
    stdio: "ignore",
  });
  await waitForPort(port);
  return {
    name: "nginx",
    port,
    pid: proc.pid!,
    stop: async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/" }, (res) => {
        res.resume();
        r(true);
      });
      req.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

function asCandidate(name: Candidate["name"], c: Child): Candidate {
  return { name, port: c.port, pid: c.pid, stop: c.stop };
}

async function main(): Promise<void> {
  ensureTools();
  const upstream = await startChild("children/upstream.ts", []);
  const target = `http://127.0.0.1:${upstream.port}`;
  const candidates: Candidate[] = [];
  try {
    candidates.push(asCandidate("gateway", await startChild("children/gateway.ts", [target])));
    candidates.push(asCandidate("httpProxy", await startChild("children/http-proxy.ts", [target])));
    candidates.push(
      asCandidate("fastifyProxy", await startChild("children/fastify-proxy.ts", [target])),
    );
    const nginx = await startNginx(upstream.port);
    if (nginx) candidates.push(nginx);
    else console.log("nginx not installed: skipping the native reference");

    // Warm-up: JIT, pools, SQLite.
    for (const c of candidates)
      wrk(`http://127.0.0.1:${c.port}/api/bench`, { connections: CONNECTIONS, seconds: 1 });

    const rps: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const ratioHttpProxy: number[] = [];
    const ratioFastify: number[] = [];
    const cpuRatio: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const roundRps: Record<string, number> = {};
      // Alternate the order so no candidate always runs right after the same neighbour.
      for (const c of round % 2 === 0 ? candidates : [...candidates].reverse()) {
        const before = cpuMicros(c.pid);
        const r = wrk(`http://127.0.0.1:${c.port}/api/bench`, {
          connections: CONNECTIONS,
          seconds: SECONDS,
        });
        const used = cpuMicros(c.pid) - before;
        if (r.errors > 0) console.log(`  ${c.name}: ${r.errors} errors in round ${round + 1}`);
        roundRps[c.name] = r.rps;
        (rps[c.name] ??= []).push(r.rps);
        (cpu[c.name] ??= []).push(r.requests > 0 ? used / r.requests : NaN);
      }
      ratioHttpProxy.push(roundRps.gateway! / roundRps.httpProxy!);
      // CPU per request, http-proxy's over the gateway's: above 1 when the gateway spends less.
      cpuRatio.push(cpu.httpProxy!.at(-1)! / cpu.gateway!.at(-1)!);
      ratioFastify.push(roundRps.gateway! / roundRps.fastifyProxy!);
      console.log(
        `round ${round + 1}: ` +
          candidates.map((c) => `${c.name} ${Math.round(roundRps[c.name]!)} req/s`).join(", "),
      );
    }

    console.log("\ncandidate      req/s (median)   CPU µs/request (median)");
    for (const c of candidates) {
      console.log(
        `${c.name.padEnd(14)} ${String(Math.round(median(rps[c.name]!))).padStart(14)}   ${median(cpu[c.name]!).toFixed(1).padStart(10)}`,
      );
    }

    // Added latency over direct at half of the gateway's max load: wrk paced to that rate
    // against the upstream directly and through each proxy, alternately, median of 3. The same
    // at a tenth of the load shows whether the added time is queueing (it would shrink) or the
    // cost of the hop itself; CPU per request at each rate shows what one request costs when
    // the processes sleep between requests.
    const gatewayRps = median(rps.gateway!);
    const gw = candidates.find((c) => c.name === "gateway")!;
    const hp = candidates.find((c) => c.name === "httpProxy")!;
    const ng = candidates.find((c) => c.name === "nginx");
    const paced = [gw, hp, ...(ng ? [ng] : [])];
    const pacedAt = (rate: number) => {
      const out: Record<string, { p50: number[]; p99: number[]; cpu: number[] }> = {};
      const direct = { p50: [] as number[], p99: [] as number[], rps: [] as number[] };
      for (let i = 0; i < 3; i++) {
        const d = wrkPaced(`http://127.0.0.1:${upstream.port}/api/bench`, {
          rate,
          seconds: LATENCY_SECONDS,
        });
        direct.p50.push(d.p50Ms);
        direct.p99.push(d.p99Ms);
        for (const c of i % 2 === 0 ? paced : [...paced].reverse()) {
          const before = cpuMicros(c.pid);
          const r = wrkPaced(`http://127.0.0.1:${c.port}/api/bench`, {
            rate,
            seconds: LATENCY_SECONDS,
          });
          const used = cpuMicros(c.pid) - before;
          if (r.errors > 0) console.log(`  ${c.name}: ${r.errors} errors in the paced run`);
          const o = (out[c.name] ??= { p50: [], p99: [], cpu: [] });
          o.p50.push(r.p50Ms - d.p50Ms);
          o.p99.push(r.p99Ms - d.p99Ms);
          o.cpu.push(r.requests > 0 ? used / r.requests : NaN);
          if (c === gw) direct.rps.push(r.rps);
        }
      }
      const fig = (name: string) => ({
        p50: median(out[name]!.p50),
        p99: median(out[name]!.p99),
        cpu: median(out[name]!.cpu),
      });
      return {
        rps: median(direct.rps),
        direct: { p50: median(direct.p50), p99: median(direct.p99) },
        gateway: fig("gateway"),
        httpProxy: fig("httpProxy"),
        nginx: ng ? fig("nginx") : undefined,
      };
    };
    const half = pacedAt(Math.max(100, Math.round(gatewayRps / 2)));
    const tenth = pacedAt(Math.max(50, Math.round(gatewayRps / 10)));
    const ms = (x: number) => `${x.toFixed(3)} ms`;
    for (const [label, r] of [
      ["half load", half],
      ["a tenth of the load", tenth],
    ] as const) {
      console.log(
        `\nadded latency at ${label} (${Math.round(r.rps)} of ${Math.round(gatewayRps)} req/s, wrk paced, median of 3; ` +
          `direct p50 ${ms(r.direct.p50)}, p99 ${ms(r.direct.p99)}):`,
      );
      for (const [name, f] of [
        ["gateway", r.gateway],
        ["httpProxy", r.httpProxy],
        ["nginx", r.nginx],
      ] as const) {
        if (f)
          console.log(
            `  ${name.padEnd(10)} p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, CPU ${f.cpu.toFixed(1)} µs/request`,
          );
      }
    }
    const addedP50 = half.gateway.p50;
    const addedP99 = half.gateway.p99;
    // The same on one connection, one request at a time: what the hop adds with no load.
    const one: number[][] = [[], []];
    for (let i = 0; i < 3; i++) {
      const d = wrk(`http://127.0.0.1:${upstream.port}/api/bench`, { connections: 1, seconds: 2 });
      const g = wrk(`http://127.0.0.1:${gw.port}/api/bench`, { connections: 1, seconds: 2 });
      one[0]!.push(g.p50Ms - d.p50Ms);
      one[1]!.push(g.p99Ms - d.p99Ms);
    }
    const oneP50 = median(one[0]!);
    const oneP99 = median(one[1]!);
    console.log(
      `added latency, one connection (median of 3): p50 ${oneP50.toFixed(3)} ms, p99 ${oneP99.toFixed(3)} ms`,
    );
    const gatewayRss = rssMb(gw.pid);
    console.log(`gateway RSS ${gatewayRss.toFixed(1)} MB`);
    console.log(
      `targets: ratioVsHttpProxy ≥ 1.0, ratioVsFastify ≥ 1.0, added at half load p50 ≤ 0.3 ms, p99 ≤ 1 ms, RSS ≤ 150 MB`,
    );
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    console.log(
      JSON.stringify({
        gatewayRps: Math.round(gatewayRps),
        httpProxyRps: Math.round(median(rps.httpProxy!)),
        fastifyProxyRps: Math.round(median(rps.fastifyProxy!)),
        nginxRps: rps.nginx ? Math.round(median(rps.nginx)) : null,
        ratioVsHttpProxy: round3(median(ratioHttpProxy)),
        ratioVsFastify: round3(median(ratioFastify)),
        addedP50Ms: round3(addedP50),
        addedP99Ms: round3(addedP99),
        halfLoadRps: Math.round(half.rps),
        httpProxyAddedP50Ms: round3(half.httpProxy.p50),
        httpProxyAddedP99Ms: round3(half.httpProxy.p99),
        nginxAddedP50Ms: half.nginx ? round3(half.nginx.p50) : null,
        nginxAddedP99Ms: half.nginx ? round3(half.nginx.p99) : null,
        gatewayCpuUsPerReqAtHalfLoad: round3(half.gateway.cpu),
        httpProxyCpuUsPerReqAtHalfLoad: round3(half.httpProxy.cpu),
        tenthLoadRps: Math.round(tenth.rps),
        addedP50AtTenthMs: round3(tenth.gateway.p50),
        addedP99AtTenthMs: round3(tenth.gateway.p99),
        httpProxyAddedP50AtTenthMs: round3(tenth.httpProxy.p50),
        nginxAddedP50AtTenthMs: tenth.nginx ? round3(tenth.nginx.p50) : null,
        gatewayCpuUsPerReqAtTenth: round3(tenth.gateway.cpu),
        addedP50OneConnectionMs: round3(oneP50),
        addedP99OneConnectionMs: round3(oneP99),
        gatewayRssMb: Math.round(gatewayRss * 10) / 10,
        cpuRatioVsHttpProxy: round3(median(cpuRatio)),
        gatewayCpuUsPerReq: round3(median(cpu.gateway!)),
        httpProxyCpuUsPerReq: round3(median(cpu.httpProxy!)),
        fastifyCpuUsPerReq: round3(median(cpu.fastifyProxy!)),
        nginxCpuUsPerReq: cpu.nginx ? round3(median(cpu.nginx)) : null,
      }),
    );
  } finally {
    await Promise.all(candidates.map((c) => c.stop()));
    await upstream.stop();
  }
}

await main();
