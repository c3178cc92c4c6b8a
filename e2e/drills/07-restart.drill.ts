import {
  currentRevision,
  listIncidents,
  listOverrides,
  openStore,
  setMode,
  setOverride,
} from "@rg/db";
import { breakerOf } from "../fixtures/gateway-state";
import { expect, recordFigures, runLoad, startStack, test } from "../fixtures";

// The gateway is killed with SIGKILL in the middle of a burst (its event writer busy) and
// started again on the same store: operator overrides, modes and incidents are all still
// there, it serves the same revision, and the store passes PRAGMA integrity_check.
test("restart: SIGKILL mid-burst loses no overrides, modes or incidents; store intact", async () => {
  const stack = await startStack();
  const store = openStore(stack.dbPath);
  try {
    const actor = { actor: "drill@e2e.test", role: "admin", reason: "restart drill" };
    const mode = setMode(store, { scope: "route", target: "search", mode: "degraded", ...actor });
    const retry = setOverride(store, {
      path: "routes.payments.retry.maxAttempts",
      value: 2,
      ...actor,
    });
    expect(mode.ok && retry.ok).toBe(true);
    const revision = currentRevision(store);
    await expect
      .poll(async () => {
        const state = await stack.gatewayState();
        return [state.revision, state.routes.search?.mode];
      })
      .toEqual([revision, "degraded"]);

    // A fault that trips the payments breaker, so an incident opens.
    await stack.demo.set("payments", { errorRate: 1 });
    await runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 4,
      maxRequests: 400,
      maxDurationMs: 10_000,
      request: (i) => ({ path: `/api/payments/${i}` }),
      until: () => listIncidents(store, { status: "open" }).length > 0,
    });
    await expect.poll(() => listIncidents(store, { status: "open" }).length).toBeGreaterThan(0);
    const incidentsBefore = listIncidents(store).map((i) => [i.id, i.status]);

    // Kill it while a burst keeps the event writer busy.
    const burst = runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 8,
      maxRequests: 5000,
      maxDurationMs: 4_000,
      request: (i) => ({ path: `/api/${i % 2 ? "catalog" : "payments"}/burst/${i}` }),
    });
    await expect.poll(async () => (await stack.demo.stats("catalog")).requests).toBeGreaterThan(50);
    await stack.gateway.kill("SIGKILL");
    await burst;

    const integrity = store.sqlite.pragma("integrity_check", { simple: true });

    const restartedAt = Date.now();
    await stack.restartGateway();
    const restartMs = Date.now() - restartedAt;
    await stack.demo.set("payments", {});

    const state = await stack.gatewayState();
    const overrides = listOverrides(store, {})
      .map((o) => o.path)
      .sort();
    const incidentsAfter = listIncidents(store).map((i) => [i.id, i.status]);

    recordFigures("restart", {
      restartIntegrityOk: integrity === "ok",
      restartReadyMs: restartMs,
      restartRevisionKept: state.revision === revision,
      restartOverridesKept: overrides.length,
      restartIncidentsKept: incidentsAfter.length,
    });

    expect(integrity).toBe("ok");
    expect(state.revision).toBe(revision);
    expect(state.routes.search?.mode).toBe("degraded");
    expect(overrides).toEqual(["routes.payments.retry.maxAttempts", "routes.search.mode"]);
    expect(incidentsAfter).toEqual(expect.arrayContaining(incidentsBefore));
    // Degraded mode still holds after the restart: search is answered without its upstream.
    const searchBefore = (await stack.demo.stats("search")).requests;
    const res = await fetch(`${stack.gatewayUrl}/api/search?q=after-restart`);
    await res.arrayBuffer();
    expect((await stack.demo.stats("search")).requests).toBe(searchBefore);
    expect(breakerOf(state, "payments")).toBeDefined();
  } finally {
    store.close();
    await stack.close();
  }
});
