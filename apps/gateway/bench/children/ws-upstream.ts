/** A WebSocket echo upstream for the WebSocket benchmark. Prints "READY <port> <pid>". */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const server = http.createServer((_req, res) => {
  res.writeHead(426);
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port} ${process.pid}\n`);
});
process.on("SIGTERM", () => process.exit(0));
