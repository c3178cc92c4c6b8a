/** @fastify/http-proxy (undici underneath) as a second reference forwarder. */
import Fastify from "fastify";
import proxy from "@fastify/http-proxy";

const target = process.argv[2]!;
const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
await app.register(proxy, { upstream: target, prefix: "/", http2: false });
await app.listen({ port: 0, host: "127.0.0.1" });
const addr = app.server.address();
const port = typeof addr === "object" && addr ? addr.port : 0;
process.stdout.write(`READY ${port} ${process.pid}\n`);
process.on("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});
