import http from "node:http";
import { expect, test } from "../fixtures";
import { pageSocket, pageSocketClosed, shot } from "./helpers";

function send(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

// From the overview, read-only takes three clicks (mode button, reason, confirm); then writes
// through the gateway get 503 while reads pass, and the WebSocket the page holds through the
// gateway is closed (a tunnel can carry writes) until the gateway is back to normal.
test("switch read-only from the overview: POST 503, GET 200, WebSockets closed", async ({
  page,
  stack,
  signIn,
}) => {
  await signIn(page, "operator");
  const live = `${stack.gatewayUrl.replace(/^http/, "ws")}/api/inventory/live`;
  expect(await pageSocket(page, live)).toBe("ping from the page");
  expect(await pageSocketClosed(page)).toBeUndefined();
  // The overview counts it on its route, from the gateway's live snapshot.
  const inventoryRow = page
    .getByRole("region", { name: "Routes" })
    .getByRole("row")
    .filter({ hasText: "inventory" });
  await expect(inventoryRow).toContainText("1 WebSocket open");
  const modes = page.getByRole("group", { name: "Mode of the whole gateway" });
  let clicks = 0;
  await modes.getByRole("button", { name: "Read-only" }).click();
  clicks++;
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("POST, PUT, PATCH and DELETE");
  await dialog.getByLabel("Reason").fill("e2e: stop writes");
  await shot(page, "read-only-dialog");
  await dialog.getByRole("button", { name: "Switch to read-only" }).click();
  clicks++;
  expect(clicks).toBeLessThanOrEqual(3);
  await expect(
    page.getByRole("region", { name: "Gateway mode" }).getByRole("status"),
  ).toContainText(/Applied by gateway at revision \d+/, { timeout: 15_000 });
  await expect(page.getByRole("region", { name: "Gateway mode" })).toContainText(
    "Writes are refused",
  );
  await shot(page, "read-only-overview");

  await expect.poll(() => send(`${stack.gatewayUrl}/api/payments/charges`, "POST")).toBe(503);
  expect(await send(`${stack.gatewayUrl}/api/payments/charges`, "GET")).toBe(200);
  // Closed with a Close frame the browser reads (1013 Try Again Later), not a bare 1006.
  await expect.poll(() => pageSocketClosed(page)).toBe(1013);
  await expect(inventoryRow).toContainText("0 WebSockets open");
  expect(await pageSocket(page, live)).toBe("refused");

  // Back to normal.
  await modes.getByRole("button", { name: "Normal" }).click();
  await dialog.getByLabel("Reason").fill("e2e: done");
  await dialog.getByRole("button", { name: "Switch to normal" }).click();
  await expect(modes.getByRole("button", { name: "Normal" })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  await expect.poll(() => send(`${stack.gatewayUrl}/api/payments/charges`, "POST")).toBe(200);
  expect(await pageSocket(page, live)).toBe("ping from the page");
});
