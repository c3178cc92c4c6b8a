/** A minimal JSON upstream for the proxy benchmark. Prints "READY <port> <pid>". */
import http from "node:http";
import type { AddressInfo } from "node:net";

const body = JSON.stringify({ ok: true, service: "bench", items: [1, 2, 3], note: "small json" });
const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
});
// Longer than every proxy's pool idle time, so pooled sockets are never closed under them.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port} ${process.pid}\n`);
});
process.on("SIGTERM", () => process.exit(0));
