// Runs Playwright with the given arguments, then prints every drill's recorded figures as one
// JSON object on the last line. `node run.mjs --project=drills` is `npm run drills`.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1" };

function run(cmd, args, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: root, env: { ...env, ...extraEnv } });
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
}

// The operator drill needs the dashboard's production build. Under `turbo run e2e` it is built
// already; run alone, build it here (turbo's cache makes this quick when nothing changed).
const drillsAlone = process.argv.includes("--project=drills");
if (drillsAlone || !existsSync(join(root, "apps", "web", ".next", "BUILD_ID"))) {
  const built = await run("npx", ["turbo", "run", "build", "--filter=@rg/web"]);
  // The other drills need no dashboard: run them anyway; the operator drill reports the failure.
  if (built !== 0) console.error("dashboard build failed: the operator drill cannot pass");
}

const figuresDir = mkdtempSync(join(tmpdir(), "rg-drills-"));
const code = await new Promise((resolve) => {
  const child = spawn("npx", ["playwright", "test", ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, DRILL_FIGURES_DIR: figuresDir },
  });
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

const file = join(figuresDir, "figures.jsonl");
if (existsSync(file)) {
  const merged = {};
  for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    Object.assign(merged, JSON.parse(line).figures);
  }
  console.log(JSON.stringify(merged));
}
rmSync(figuresDir, { recursive: true, force: true });
process.exit(code);
