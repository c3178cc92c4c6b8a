import {
  expect,
  ratio,
  recordFigures,
  round,
  runLoad,
  startStack,
  statusCounts,
  test,
} from "../fixtures";

// Every payments call fails with 503. Retries are capped by the retry budget, so the upstream
// sees at most 1.2× the client's requests, and a POST without Idempotency-Key is sent once.
// The breaker, outlier ejection, health checks and the route's rate limit are off here so that
// the budget alone is what limits the attempts (the demo upstream counts them), and every
// client request reaches the retry path: on a fast host the storm passes the 200/s per key.
test("retry storm: the retry budget caps upstream attempts; unsafe POSTs are never retried", async () => {
  const stack = await startStack({
    tweak: (config) => {
      const payments = config.upstreams.payments!;
      payments.circuitBreaker = { ...payments.circuitBreaker, enabled: false };
      payments.outlierDetection = { enabled: false };
      payments.healthCheck = { enabled: false };
      const route = config.routes.payments!;
      route.rateLimit = { ...route.rateLimit, enabled: false };
    },
  });
  try {
    await stack.demo.set("payments", { errorRate: 1, errorStatus: 503 });
    await stack.demo.resetStats("payments");

    const samples = await runLoad({
      baseUrl: stack.gatewayUrl,
      // A storm: enough requests in flight that the budget's 20% share, not its floor of 3
      // concurrent retries (meant for quiet upstreams), sets the limit.
      concurrency: 40,
      maxRequests: 3000,
      maxDurationMs: 15_000,
      request: (i) =>
        i % 4 === 0
          ? {
              method: "POST",
              path: "/api/payments",
              headers: { "content-type": "application/json", "x-api-key": `client-${i % 8}` },
              body: JSON.stringify({ amount: i }),
            }
          : { path: `/api/payments/${i}`, headers: { "x-api-key": `client-${i % 8}` } },
    });
    const upstream = await stack.demo.stats("payments");
    const clientPosts = samples.filter((s) => s.method === "POST").length;
    const upstreamAttempts = upstream.requests - upstream.healthChecks;
    const amplification = ratio(upstreamAttempts, samples.length);

    recordFigures("retry-storm", {
      retryClientRequests: samples.length,
      retryUpstreamAttempts: upstreamAttempts,
      retryAmplification: round(amplification, 4),
      retryClientPosts: clientPosts,
      retryUpstreamPosts: upstream.byMethod.POST ?? 0,
    });

    // Every client request failed (no retry can help), and each got an answer.
    expect(
      samples.every((s) => s.status >= 500),
      JSON.stringify(statusCounts(samples)),
    ).toBe(true);
    expect(amplification).toBeGreaterThanOrEqual(1);
    expect(amplification).toBeLessThanOrEqual(1.2);
    expect(upstream.byMethod.POST ?? 0).toBe(clientPosts);
  } finally {
    await stack.close();
  }
});
