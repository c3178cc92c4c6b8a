import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { runLoad } from "../fixtures";
import type { Stack } from "../fixtures";

const screenshots = join(dirname(fileURLToPath(import.meta.url)), "..", "screenshots");

/** Save a full-page 1440×900 screenshot of the page as it is now. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/**
 * Send bounded traffic through the gateway (loopback only) until `done` says stop, or the
 * count / time bound is reached.
 */
export async function traffic(
  stack: Stack,
  opts: {
    path: string;
    method?: string;
    maxRequests?: number;
    maxDurationMs?: number;
    ratePerSec?: number;
    until?: () => boolean;
  },
) {
  return runLoad({
    baseUrl: stack.gatewayUrl,
    concurrency: 4,
    maxRequests: opts.maxRequests ?? 400,
    maxDurationMs: opts.maxDurationMs ?? 10_000,
    ratePerSec: opts.ratePerSec ?? 100,
    timeoutMs: 5000,
    request: () => ({ method: opts.method ?? "GET", path: opts.path }),
    ...(opts.until ? { until: opts.until } : {}),
  });
}
