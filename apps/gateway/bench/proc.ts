/** Process helpers for the benchmarks: children that announce "READY <port> <pid>", CPU and RSS from /proc, wrk. */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "node_modules", ".cache", "rg-bench");

/**
 * Workspace sources are bundled; installed packages stay external and load from
 * node_modules as usual. `import.meta.url` keeps meaning the original file (the store finds
 * its migrations through it).
 */
const workspaceSources: Plugin = {
  name: "workspace-sources",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@rg/") || args.path.startsWith("node:")
        ? undefined
        : { external: true },
    );
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll(
        "import.meta.url",
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: "ts",
    }));
  },
};

/**
 * Children run as plain Node on a bundle, like a compiled deployment: running them through
 * tsx would add its loader thread to every candidate's memory and start-up.
 */
async function bundle(script: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, script.replace(/[/\\]/g, "_").replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [join(here, script)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
    plugins: [workspaceSources],
  });
  return outfile;
}

export interface Child {
  port: number;
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Bundle a TypeScript child, start it with node and wait for its READY line. */
export async function startChild(
  script: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<Child> {
  const file = await bundle(script);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [file, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    let buf = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${script} did not start`));
    }, timeoutMs);
    proc.stdout!.on("data", (c: Buffer) => {
      buf += c.toString();
      const m = /READY (\d+) (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.removeAllListeners("data");
        proc.stdout!.resume();
        resolve({ port: Number(m[1]), pid: Number(m[2]), proc, stop: () => stopProcess(proc) });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}`));
    });
  });
}

export function stopProcess(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

const CLK_TCK = 100;

/** CPU time (user + system) of a process in µs, from /proc/PID/stat. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / CLK_TCK;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

export interface WrkResult {
  rps: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest request. */
  maxMs: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

export function wrk(
  url: string,
  opts: { connections: number; seconds: number; threads?: number; script?: string },
): WrkResult {
  const out = execFileSync(
    "wrk",
    [
      `-t${opts.threads ?? 1}`,
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      "--latency",
      ...(opts.script ? ["-s", opts.script] : []),
      url,
    ],
    { encoding: "utf8", timeout: (opts.seconds + 30) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const max = toMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? "");
  return { rps, requests, errors, p50Ms: p50, p99Ms: p99, maxMs: max };
}

/**
 * wrk held near `rate` requests/s: each of `connections` connections waits a random,
 * exponentially distributed time between a response and its next request (wrk's `delay()`
 * hook), so arrivals are close to Poisson instead of wrk's usual flood or synchronised bursts,
 * and latency is measured per request without client-side queueing.
 */
export function wrkPaced(
  url: string,
  opts: {
    rate: number;
    seconds: number;
    connections?: number;
    /** Lua defining wrk's `request()` hook, to vary what is asked for (default: `url`). */
    request?: string;
  },
): WrkResult & { meanDelayMs: number } {
  const connections = opts.connections ?? 40;
  const meanDelayMs = (connections * 1000) / opts.rate;
  const dir = mkdtempSync(join(tmpdir(), "rg-bench-wrk-"));
  const script = join(dir, "paced.lua");
  writeFileSync(
    script,
    `math.randomseed(os.time())\n${opts.request ?? ""}\nfunction delay()\n  return -math.log(1 - math.random()) * ${meanDelayMs}\nend\n`,
  );
  try {
    return { ...wrk(url, { connections, seconds: opts.seconds, script }), meanDelayMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The load generator and the native reference, from Debian's packages. Installed here when
 * missing and this process may (root): CI machines start without them.
 */
export function ensureTools(): void {
  const missing = ["wrk", "nginx"].filter((c) => !hasCommand(c));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.log(`missing ${missing.join(", ")} and not root: not installing`);
    return;
  }
  console.log(`installing ${missing.join(", ")} from Debian's packages…`);
  try {
    execFileSync("apt-get", ["install", "-y", "-qq", ...missing], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    });
  } catch {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "-qq", ...missing], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    });
  }
}

export function median(xs: number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
