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

interface BrowserSocket {
  readyState: number;
  send(data: string): void;
  onopen: (() => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
  onclose: ((e: { code: number }) => void) | null;
}
type SocketWindow = {
  WebSocket: new (url: string) => BrowserSocket;
  __rgSocket?: BrowserSocket;
  __rgSocketClosed?: number;
};

/**
 * Open a WebSocket from the page (the browser's own client) and resolve with the echo of
 * one message, or with "refused" when the handshake fails. The socket stays open on the page.
 */
export function pageSocket(page: Page, url: string): Promise<string> {
  return page.evaluate(
    (u) =>
      new Promise<string>((resolve) => {
        const w = globalThis as unknown as SocketWindow;
        const ws = new w.WebSocket(u);
        w.__rgSocket = ws;
        delete w.__rgSocketClosed;
        ws.onopen = () => ws.send("ping from the page");
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => resolve("refused");
        ws.onclose = (e) => {
          w.__rgSocketClosed = e.code;
        };
      }),
    url,
  );
}

/** The close code of the page's last WebSocket, or undefined while it is open. */
export function pageSocketClosed(page: Page): Promise<number | undefined> {
  return page.evaluate(() => (globalThis as unknown as SocketWindow).__rgSocketClosed);
}
