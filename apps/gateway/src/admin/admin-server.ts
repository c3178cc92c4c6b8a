/**
 * The admin listener, apart from traffic: liveness, readiness, Prometheus metrics and the
 * live state as JSON.
 */
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface AdminHandlers {
  /** Config loaded and at least one route can be served. */
  ready(): { ready: boolean; reason?: string };
  metrics(): Promise<string>;
  metricsContentType: string;
  state(): unknown;
}

export async function startAdminServer(
  host: string,
  port: number,
  h: AdminHandlers,
): Promise<{ server: Server; port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
      });
      res.end(text);
    };
    if (req.method !== "GET" && req.method !== "HEAD")
      return json(405, { error: "method not allowed" });
    switch (path) {
      case "/healthz":
        return json(200, { status: "ok" });
      case "/readyz": {
        const r = h.ready();
        return json(r.ready ? 200 : 503, { status: r.ready ? "ready" : "not_ready", ...r });
      }
      case "/metrics":
        h.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": h.metricsContentType });
            res.end(text);
          },
          () => json(500, { error: "metrics unavailable" }),
        );
        return;
      case "/state":
        return json(200, h.state());
      default:
        return json(404, { error: "not found" });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
