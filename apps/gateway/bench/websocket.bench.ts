/**
 * WebSocket tunnels on loopback: this gateway (the proxy bench's config, every policy on the
 * handshake) against a bare http-proxy `ws()` forwarder and the echo upstream directly, each
 * in its own process, with the `ws` client in this one. Four figures, candidates interleaved
 * over a few rounds and medians taken:
 * - the round trip of one small message on one tunnel, one at a time (what the hop adds);
 * - echoed messages per second over 50 tunnels in a closed loop, with the proxy's CPU per
 *   message (the client is the same for every candidate, so the ratio is the figure);
 * - the handshake: time to open a tunnel, sequentially;
 * - memory: the proxy's RSS growth per open idle tunnel.
 * Every loop is bounded in count and time. Prints a table and, last, one JSON line.
 */
import WebSocket from "ws";
import { cpuMicros, median, rssMb, startChild, type Child } from "./proc";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_TRIPS = Number(process.env.BENCH_WS_ROUND_TRIPS ?? 2000);
const TUNNELS = Number(process.env.BENCH_WS_TUNNELS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const HANDSHAKES = Number(process.env.BENCH_WS_HANDSHAKES ?? 300);
const IDLE_TUNNELS = Number(process.env.BENCH_WS_IDLE ?? 2000);
const MESSAGE = Buffer.alloc(1024, 97);

interface Candidate {
  name: "direct" | "gateway" | "httpProxy";
  port: number;
  pid: number;
}

function open(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/bench`, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) =>
      reject(new Error(`handshake answered ${res.statusCode}`)),
    );
  });
}

function closeAll(sockets: WebSocket[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          if (ws.readyState === WebSocket.CLOSED) return r();
          ws.once("close", () => r());
          ws.terminate();
        }),
    ),
  ).then(() => undefined);
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/** Round trips of a 16-byte message on one tunnel, one at a time: p50 and p99 in ms. */
async function roundTrips(port: number, n: number): Promise<{ p50: number; p99: number }> {
  const ws = await open(port);
  const times: number[] = [];
  const msg = Buffer.alloc(16, 98);
  await new Promise<void>((resolve) => {
    let started = process.hrtime.bigint();
    ws.on("message", () => {
      times.push(ms(started));
      if (times.length >= n) return resolve();
      started = process.hrtime.bigint();
      ws.send(msg);
    });
    ws.send(msg);
  });
  await closeAll([ws]);
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n * 0.5)]!, p99: times[Math.floor(n * 0.99)]! };
}

/** Echoed 1 KiB messages per second over `tunnels` tunnels in a closed loop, and CPU per message. */
async function throughput(
  c: Candidate,
  tunnels: number,
  seconds: number,
): Promise<{ perSec: number; cpuUs: number }> {
  const sockets = await Promise.all(Array.from({ length: tunnels }, () => open(c.port)));
  const maxMessages = 5_000_000;
  let echoed = 0;
  const cpuBefore = cpuMicros(c.pid);
  const started = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  await new Promise<void>((resolve) => {
    let running = sockets.length;
    for (const ws of sockets) {
      ws.on("message", () => {
        echoed++;
        if (Date.now() < end && echoed < maxMessages) ws.send(MESSAGE);
        else if (--running === 0) resolve();
      });
      ws.send(MESSAGE);
    }
  });
  const elapsed = ms(started) / 1000;
  const cpu = cpuMicros(c.pid) - cpuBefore;
  await closeAll(sockets);
  return { perSec: echoed / elapsed, cpuUs: cpu / echoed };
}

/** Time to open a tunnel (handshake to open), one after another. */
async function handshakes(port: number, n: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    const ws = await open(port);
    times.push(ms(started));
    await closeAll([ws]);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n * 0.5)]!, p99: times[Math.floor(n * 0.99)]! };
}

/** RSS growth of the proxy process per open idle tunnel, in KB. */
async function memoryPerTunnel(c: Candidate, n: number): Promise<number> {
  const before = rssMb(c.pid);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => open(c.port)))),
    );
  }
  // One message each way on every tunnel, so every buffer a live tunnel needs is allocated.
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          ws.once("message", () => r());
          ws.send(MESSAGE);
        }),
    ),
  );
  const after = rssMb(c.pid);
  await closeAll(sockets);
  return ((after - before) * 1024) / n;
}

async function main(): Promise<void> {
  const children: Child[] = [];
  try {
    const upstream = await startChild("children/ws-upstream.ts", []);
    children.push(upstream);
    const target = `http://127.0.0.1:${upstream.port}`;
    const gateway = await startChild("children/gateway.ts", [target]);
    children.push(gateway);
    const httpProxy = await startChild("children/http-proxy.ts", [target]);
    children.push(httpProxy);
    const candidates: Candidate[] = [
      { name: "direct", port: upstream.port, pid: upstream.pid },
      { name: "gateway", port: gateway.port, pid: gateway.pid },
      { name: "httpProxy", port: httpProxy.port, pid: httpProxy.pid },
    ];
    // Warm-up: JIT, pools.
    for (const c of candidates) await throughput(c, 10, 1);

    const rt: Record<string, { p50: number[]; p99: number[] }> = {};
    const tp: Record<string, { perSec: number[]; cpuUs: number[] }> = {};
    const hs: Record<string, { p50: number[]; p99: number[] }> = {};
    const ratio: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? candidates : [...candidates].reverse();
      for (const c of order) {
        const r = await roundTrips(c.port, ROUND_TRIPS);
        const o = (rt[c.name] ??= { p50: [], p99: [] });
        o.p50.push(r.p50);
        o.p99.push(r.p99);
      }
      const perSec: Record<string, number> = {};
      for (const c of order) {
        const t = await throughput(c, TUNNELS, SECONDS);
        const o = (tp[c.name] ??= { perSec: [], cpuUs: [] });
        o.perSec.push(t.perSec);
        o.cpuUs.push(t.cpuUs);
        perSec[c.name] = t.perSec;
      }
      ratio.push(perSec.gateway! / perSec.httpProxy!);
      for (const c of order) {
        const h = await handshakes(c.port, HANDSHAKES);
        const o = (hs[c.name] ??= { p50: [], p99: [] });
        o.p50.push(h.p50);
        o.p99.push(h.p99);
      }
      console.log(
        `round ${round + 1}: ` +
          candidates.map((c) => `${c.name} ${Math.round(perSec[c.name]!)} msg/s`).join(", "),
      );
    }
    const mem: Record<string, number> = {};
    for (const c of candidates.filter((x) => x.name !== "direct")) {
      mem[c.name] = await memoryPerTunnel(c, IDLE_TUNNELS);
    }

    const f = (x: number) => x.toFixed(3);
    console.log(
      "\ncandidate    round trip p50 / p99 (ms)   msg/s (median)   CPU µs/msg (direct: the upstream)   handshake p50 / p99 (ms)",
    );
    for (const c of candidates) {
      console.log(
        `${c.name.padEnd(12)} ${f(median(rt[c.name]!.p50))} / ${f(median(rt[c.name]!.p99))}`.padEnd(
          41,
        ) +
          `${String(Math.round(median(tp[c.name]!.perSec))).padStart(14)}   ${median(tp[c.name]!.cpuUs).toFixed(1).padStart(16)}   ` +
          `${f(median(hs[c.name]!.p50))} / ${f(median(hs[c.name]!.p99))}`,
      );
    }
    console.log(
      `RSS per open idle tunnel (${IDLE_TUNNELS} tunnels): gateway ${mem.gateway!.toFixed(1)} KB, httpProxy ${mem.httpProxy!.toFixed(1)} KB`,
    );
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    const added = (name: string, q: "p50" | "p99") =>
      round3(median(rt[name]![q]) - median(rt.direct![q]));
    console.log(
      JSON.stringify({
        wsRoundTripAddedP50Ms: added("gateway", "p50"),
        wsRoundTripAddedP99Ms: added("gateway", "p99"),
        httpProxyWsRoundTripAddedP50Ms: added("httpProxy", "p50"),
        httpProxyWsRoundTripAddedP99Ms: added("httpProxy", "p99"),
        wsMessagesPerSec: Math.round(median(tp.gateway!.perSec)),
        httpProxyWsMessagesPerSec: Math.round(median(tp.httpProxy!.perSec)),
        directWsMessagesPerSec: Math.round(median(tp.direct!.perSec)),
        wsRatioVsHttpProxy: round3(median(ratio)),
        gatewayCpuUsPerMessage: round3(median(tp.gateway!.cpuUs)),
        httpProxyCpuUsPerMessage: round3(median(tp.httpProxy!.cpuUs)),
        handshakeP50Ms: round3(median(hs.gateway!.p50)),
        handshakeP99Ms: round3(median(hs.gateway!.p99)),
        httpProxyHandshakeP50Ms: round3(median(hs.httpProxy!.p50)),
        directHandshakeP50Ms: round3(median(hs.direct!.p50)),
        gatewayRssKbPerTunnel: Math.round(mem.gateway! * 10) / 10,
        httpProxyRssKbPerTunnel: Math.round(mem.httpProxy! * 10) / 10,
        idleTunnels: IDLE_TUNNELS,
      }),
    );
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

await main();
