import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: { "~": fileURLToPath(new URL("./src", import.meta.url)) },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
    // Server tests open real SQLite files; keep them in one worker pool with a sane timeout.
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
