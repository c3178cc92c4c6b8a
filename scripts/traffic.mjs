// A small, bounded traffic generator for the demo: mixed GET/POST across the example's routes
// from a few consumers, at a fixed rate, against a loopback gateway only.
//   node scripts/traffic.mjs [--url http://127.0.0.1:8080] [--rate 20] [--seconds 60]
import http from "node:http";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const CONSUMERS = [
  { name: "premium", headers: { "x-api-key": "demo-premium-key" } },
  { name: "mobile", headers: { "x-api-key": "mobile-app" } },
  { name: "web", headers: { "x-api-key": "web-shop" } },
  { name: "anonymous", headers: {} },
];

/** One request description per tick, cycling through a fixed mix. */
function pick(n) {
  const id = n % 50;
  const mix = [
    { method: "GET", path: `/api/catalog/products/${id}` },
    { method: "GET", path: `/api/inventory/items/${id % 20}` },
    { method: "GET", path: `/api/payments/${id}` },
    { method: "GET", path: `/api/search?q=item-${id % 10}` },
    {
      method: "POST",
      path: "/api/payments",
      body: { amount: 10 + id, currency: "EUR" },
      idempotent: true,
    },
    { method: "GET", path: `/api/catalog/products/${(id * 7) % 50}` },
    { method: "POST", path: "/api/inventory/reservations", body: { item: id % 20, quantity: 1 } },
    { method: "GET", path: `/api/inventory/items/${(id * 3) % 20}` },
  ];
  return mix[n % mix.length];
}

function isLoopback(hostname) {
  return (
    hostname === "127.0.0.1" ||
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1"
  );
}

/**
 * Start sending `rate` requests per second until stop() or `seconds` elapse.
 * Returns { stop(): Promise<void>, stats }.
 */
export function startTraffic({
  url = "http://127.0.0.1:8080",
  rate = 20,
  seconds = 4 * 3600,
  log = console.log,
} = {}) {
  const base = new URL(url);
  if (!isLoopback(base.hostname))
    throw new Error(`traffic only targets loopback, not ${base.hostname}`);
  const safeRate = Math.max(1, Math.min(200, rate));
  const maxRequests = Math.ceil(safeRate * seconds);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const stats = { sent: 0, byStatus: {}, errors: 0 };
  const inFlight = new Set();
  let n = 0;

  const fire = () => {
    if (stats.sent >= maxRequests) return stopNow();
    const spec = pick(n);
    const consumer = CONSUMERS[n % CONSUMERS.length];
    n++;
    stats.sent++;
    const body = spec.body ? JSON.stringify(spec.body) : undefined;
    const headers = { ...consumer.headers };
    if (body) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(body);
      if (spec.idempotent) headers["idempotency-key"] = `demo-${n}`;
    }
    const req = http.request(
      {
        host: base.hostname,
        port: base.port || 80,
        method: spec.method,
        path: spec.path,
        headers,
        agent,
        timeout: 10_000,
      },
      (res) => {
        stats.byStatus[res.statusCode] = (stats.byStatus[res.statusCode] ?? 0) + 1;
        res.resume();
        res.on("close", () => inFlight.delete(req));
      },
    );
    inFlight.add(req);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => {
      stats.errors++;
      inFlight.delete(req);
    });
    req.end(body);
  };

  const timer = setInterval(fire, 1000 / safeRate);
  const report = setInterval(() => {
    const statuses = Object.entries(stats.byStatus)
      .map(([s, c]) => `${s}×${c}`)
      .join(" ");
    log(`${stats.sent} sent; ${statuses || "no answers yet"}; ${stats.errors} connection errors`);
  }, 30_000);
  report.unref();

  let stopped;
  function stopNow() {
    if (stopped) return stopped;
    clearInterval(timer);
    clearInterval(report);
    for (const req of inFlight) req.destroy();
    agent.destroy();
    stopped = Promise.resolve();
    return stopped;
  }
  return { stop: stopNow, stats };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: { url: { type: "string" }, rate: { type: "string" }, seconds: { type: "string" } },
  });
  const traffic = startTraffic({
    url: values.url,
    rate: values.rate ? Number(values.rate) : 20,
    seconds: values.seconds ? Number(values.seconds) : 60,
  });
  const stop = () =>
    traffic.stop().then(() => {
      console.log(JSON.stringify(traffic.stats));
      process.exit(0);
    });
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  setTimeout(stop, (values.seconds ? Number(values.seconds) : 60) * 1000 + 100).unref();
}
