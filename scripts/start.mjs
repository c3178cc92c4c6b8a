// `npm start`: install and build what is missing or stale, then run the demo upstream, the gateway,
// the dashboard and a little traffic so the dashboard has live data at once.
// `npm start -- --config my.yaml` runs only the gateway and the dashboard against your services.
// Flags: --config <file>  --no-traffic  --no-build  --web-port <n> (default 3000)
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { projectEnv, run } from "./run.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    config: { type: "string" },
    "no-traffic": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    "web-port": { type: "string", default: "3000" },
  },
});
const demoMode = args.config === undefined;
const configPath = resolve(root, args.config ?? "config/example.yaml");
const dataDir = join(root, "data");
const dbPath = join(dataDir, "gateway.db");
const webPort = Number(args["web-port"]);
const COLORS = { demo: 36, gateway: 33, web: 35, traffic: 32, start: 1 };

function say(tag, line) {
  const color = process.stdout.isTTY ? (COLORS[tag] ?? 0) : 0;
  const prefix = color ? `\x1b[${color}m[${tag}]\x1b[0m` : `[${tag}]`;
  console.log(`${prefix} ${line}`);
}

/** Newest modification time under a folder, ignoring build output and dependencies. */
function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (["node_modules", ".next", ".turbo", "dist", "test-results"].includes(entry)) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

async function ensureInstalled() {
  const lock = join(root, "package-lock.json");
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(join(root, "node_modules"))) {
    say("start", "installing dependencies (npm ci)…");
    if ((await run("npm", ["ci"], { cwd: root })) !== 0) throw new Error("npm ci failed");
  } else if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
    say("start", "package-lock.json changed: npm install…");
    if ((await run("npm", ["install"], { cwd: root })) !== 0) throw new Error("npm install failed");
  }
}

async function ensureBuilt() {
  const web = join(root, "apps", "web");
  if (!existsSync(join(web, "package.json"))) return;
  const buildId = join(web, ".next", "BUILD_ID");
  const sources = Math.max(
    newestMtime(join(web, "src")),
    newestMtime(join(web, "package.json")),
    newestMtime(join(web, "next.config.ts")),
    newestMtime(join(root, "packages")),
  );
  if (existsSync(buildId) && statSync(buildId).mtimeMs > sources) {
    say("start", "dashboard build is up to date");
    return;
  }
  say("start", "building (turbo run build)…");
  if ((await run("npx", ["turbo", "run", "build"], { cwd: root })) !== 0) {
    throw new Error("build failed");
  }
}

const children = new Map();

/** Start a child in its own process group with prefixed output. */
function startChild(tag, cmd, argv, opts = {}) {
  const child = spawn(cmd, argv, {
    cwd: opts.cwd ?? root,
    env: { ...projectEnv, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.set(tag, child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      opts.onLine?.(line);
      say(tag, line);
    });
  }
  child.on("exit", (code, signal) => {
    children.delete(tag);
    if (!stopping) say("start", `${tag} exited (${signal ?? `code ${code}`})`);
    if (!stopping && children.size === 0) process.exit(code ?? 1);
  });
  return child;
}

/** Poll a URL until it answers with a status below 500, or give up after timeoutMs. */
async function waitForHttp(url, timeoutMs, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function readPorts() {
  const { parse } = await import("yaml");
  const { readFileSync } = await import("node:fs");
  const raw = parse(readFileSync(configPath, "utf8")) ?? {};
  return {
    port: raw.gateway?.listen?.port ?? 8080,
    adminPort: raw.gateway?.admin?.port ?? 9090,
  };
}

let stopping = false;
let traffic;

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  say("start", "stopping…");
  await traffic?.stop();
  const exits = [...children].map(
    ([tag, child]) =>
      new Promise((resolveExit) => {
        const timer = setTimeout(() => {
          say("start", `${tag} did not stop in 20 s: killing it`);
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, 20_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolveExit();
        });
        try {
          // The gateway drains in-flight requests on SIGTERM before it exits.
          process.kill(-child.pid, "SIGTERM");
        } catch {
          resolveExit();
        }
      }),
  );
  await Promise.all(exits);
  process.exit(exitCode);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

async function main() {
  await ensureInstalled();
  if (!args["no-build"]) await ensureBuilt();
  const require = createRequire(join(root, "package.json"));
  const tsxLoader = "tsx";
  const freshStore = !existsSync(dbPath);

  if (!existsSync(configPath)) throw new Error(`config file not found: ${configPath}`);
  const { port, adminPort } = await readPorts();

  const demoEntry = join(root, "apps/gateway/src/demo-upstream/main.ts");
  if (demoMode) {
    if (existsSync(demoEntry)) {
      let ready;
      const readyLine = new Promise((r) => (ready = r));
      startChild("demo", process.execPath, ["--import", tsxLoader, demoEntry], {
        onLine: (line) => line.startsWith('{"ready":true') && ready(),
      });
      await Promise.race([readyLine, new Promise((r) => setTimeout(r, 30_000))]);
    } else
      say("start", "skipping the demo upstream: apps/gateway/src/demo-upstream/main.ts not found");
  }

  const gatewayEntry = join(root, "apps/gateway/src/main.ts");
  let gatewayUp = false;
  if (existsSync(gatewayEntry)) {
    const gw = startChild(
      "gateway",
      process.execPath,
      ["--import", tsxLoader, gatewayEntry, "--config", configPath],
      {
        env: { GATEWAY_DB: dbPath },
      },
    );
    gatewayUp = await waitForHttp(
      `http://127.0.0.1:${adminPort}/readyz`,
      60_000,
      () => gw.exitCode === null,
    );
    if (!gatewayUp) say("start", "the gateway did not become ready; continuing without traffic");
  } else say("start", "skipping the gateway: apps/gateway/src/main.ts not found");

  const webDir = join(root, "apps/web");
  let webUp = false;
  let adminLogin;
  if (existsSync(join(webDir, ".next", "BUILD_ID"))) {
    const nextBin = require.resolve("next/dist/bin/next", { paths: [webDir] });
    const webEnv = {
      DATABASE_PATH: dbPath,
      NODE_ENV: "production",
      PORT: String(webPort),
      AUTH_URL: projectEnv.AUTH_URL ?? `http://127.0.0.1:${webPort}`,
    };
    if (!projectEnv.ADMIN_PASSWORD) {
      adminLogin = {
        email: projectEnv.ADMIN_EMAIL ?? "admin@localhost",
        password: randomBytes(12).toString("base64url"),
      };
      Object.assign(webEnv, { ADMIN_EMAIL: adminLogin.email, ADMIN_PASSWORD: adminLogin.password });
    }
    const web = startChild(
      "web",
      process.execPath,
      [nextBin, "start", "-p", String(webPort), "-H", "127.0.0.1"],
      {
        cwd: webDir,
        env: webEnv,
      },
    );
    webUp = await waitForHttp(`http://127.0.0.1:${webPort}/`, 60_000, () => web.exitCode === null);
  } else say("start", "skipping the dashboard: apps/web has no build (apps/web/.next/BUILD_ID)");

  if (demoMode && gatewayUp && !args["no-traffic"]) {
    const { startTraffic } = await import("./traffic.mjs");
    traffic = startTraffic({
      url: `http://127.0.0.1:${port}`,
      rate: 20,
      log: (l) => say("traffic", l),
    });
    say("traffic", "sending 20 requests/s across the demo routes (4 consumers)");
  }

  console.log("");
  if (gatewayUp) {
    say(
      "start",
      `gateway      http://127.0.0.1:${port}  (admin: http://127.0.0.1:${adminPort}/metrics, /state)`,
    );
  }
  if (demoMode && children.has("demo")) say("start", "demo control http://127.0.0.1:4100/services");
  if (webUp) {
    say("start", `dashboard    http://127.0.0.1:${webPort}`);
    if (adminLogin && freshStore) {
      say(
        "start",
        `sign in as   ${adminLogin.email} / ${adminLogin.password}  (one-time: change it under Users)`,
      );
    } else if (adminLogin) {
      say("start", "sign in with your existing users (the store already existed)");
    } else {
      say(
        "start",
        `sign in as   ${projectEnv.ADMIN_EMAIL ?? "admin@localhost"} with ADMIN_PASSWORD`,
      );
    }
  }
  say("start", "Ctrl-C stops everything");
}

main().catch((err) => {
  say("start", `failed: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});
