import { defineConfig } from "@playwright/test";

// Drills print their figures; under run.mjs (npm run drills / the e2e task) they also append
// them to DRILL_FIGURES_DIR, which run.mjs prints as one JSON line at the end.

const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export default defineConfig({
  // Every spec starts real servers; two shared cores fit one worker.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: process.env.E2E_OUTPUT_DIR ?? "test-results",
  use: {
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: chromiumArgs,
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    { name: "e2e", testDir: "./specs", testMatch: /.*\.spec\.ts$/ },
    { name: "drills", testDir: "./drills", testMatch: /.*\.drill\.ts$/ },
  ],
});
