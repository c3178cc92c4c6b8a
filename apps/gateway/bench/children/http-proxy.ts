/**
 * A bare http-proxy forwarder with a keep-alive agent: the baseline the gateway is compared
 * to, for requests and WebSockets.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import httpProxy from "http-proxy";

const target = process.argv[2]!;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target, agent });
proxy.on("error", (_e, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
// WebSockets through http-proxy's own ws pass, for the WebSocket benchmark.
server.on("upgrade", (req, socket, head) => proxy.ws(req, socket, head));
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port} ${process.pid}\n`);
});
process.on("SIGTERM", () => process.exit(0));
