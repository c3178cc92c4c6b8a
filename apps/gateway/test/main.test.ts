/** The process entry point: config errors, readiness, and a clean drain on SIGTERM. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closedPort, request, startUpstream, until } from "./harness";

const main = join(import.meta.dirname, "..", "src", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "rg-gw-main-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  // One process (tsx as a loader, not its CLI, which forks a child): a SIGKILL on a failure
  // path then leaves no orphaned gateway behind.
  const proc = spawn(process.execPath, ["--import", "tsx", main, ...args], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, output: () => out, exited };
}

describe("main", () => {
  it("exits 1 and prints every `path: reason` for a bad config", { timeout: 120_000 }, async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "upstreams:\n  a: { endpoints: { x: { url: 'ftp://nope' } } }\nroutes:\n  r: { match: { pathPrefix: 'api' }, upstream: missing }\n",
    );
    const p = run(["--config", file]);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain("upstreams.a.endpoints.x.url:");
    expect(p.output()).toContain("routes.r.match.pathPrefix:");
    expect(p.output()).toContain("routes.r.upstream: unknown upstream 'missing'");
  });

  it("serves, then drains and exits 0 on SIGTERM", async () => {
    const up = await startUpstream((_req, res) => {
      setTimeout(() => res.end("done"), 300);
    });
    const port = await closedPort();
    const adminPort = await closedPort();
    const file = join(dir, "good.yaml");
    writeFileSync(
      file,
      `gateway: { listen: { port: ${port} }, admin: { port: ${adminPort} } }\n` +
        `upstreams:\n  a: { endpoints: { x: { url: '${up.url}' } } }\n` +
        "routes:\n  r: { match: { pathPrefix: / }, upstream: a }\n",
    );
    const p = run(["--config", file], { GATEWAY_DB: join(dir, "main.db") });
    try {
      await until(
        async () => {
          try {
            return (await request(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
          } catch {
            return false;
          }
        },
        // A cold tsx compile of the gateway on a busy 2-core machine can take tens of seconds.
        60_000,
        100,
      );
      const inflight = request(`http://127.0.0.1:${port}/slow`);
      // SIGTERM while the request is at the upstream.
      await until(() => up.requests.length === 1, 5000, 10);
      p.proc.kill("SIGTERM");
      expect((await inflight).body).toBe("done");
      expect(await p.exited).toBe(0);
    } finally {
      p.proc.kill("SIGKILL");
      await up.close();
    }
  }, 120_000);
});
