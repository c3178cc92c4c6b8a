// Small helpers shared by the root scripts: run a command with the project's environment.
import { spawn } from "node:child_process";

export const projectEnv = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: "1",
  NEXT_TELEMETRY_DISABLED: "1",
  BETTER_AUTH_TELEMETRY: "0",
  DO_NOT_TRACK: "1",
};

/** Run a command, inheriting stdio; resolves with its exit code. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "inherit", env: projectEnv, ...opts });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", () => resolve(127));
  });
}
