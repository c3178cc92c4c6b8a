// Runs Playwright with the given arguments, then prints every drill's recorded figures as one
// JSON object on the last line. `node run.mjs --project=drills` is `npm run drills`.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const figuresDir = mkdtempSync(join(tmpdir(), "rg-drills-"));
const code = await new Promise((resolve) => {
  const child = spawn(
    "npx",
    ["playwright", "test", "--pass-with-no-tests", ...process.argv.slice(2)],
    {
      stdio: "inherit",
      env: { ...process.env, DRILL_FIGURES_DIR: figuresDir },
    },
  );
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
