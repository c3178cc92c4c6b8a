// `npm test`: type check, lint, unit and integration tests, then the end-to-end suite.
import { run } from "./run.mjs";

const steps = [
  [
    "type check, lint, unit and integration tests",
    "npx",
    ["turbo", "run", "typecheck", "lint", "test", "--concurrency=2"],
  ],
  ["formatting", "npx", ["prettier", "--check", "."]],
  ["end-to-end", "npx", ["turbo", "run", "e2e", "--concurrency=1"]],
];

for (const [name, cmd, args] of steps) {
  const started = Date.now();
  console.log(`\n▶ ${name}`);
  const code = await run(cmd, args);
  console.log(
    `◀ ${name}: ${code === 0 ? "ok" : `failed (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (code !== 0) process.exit(code);
}
