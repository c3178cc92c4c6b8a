/**
 * The one definition of the gateway's configuration. Every default is stated here, once,
 * with `.default()` and a description. Routes, upstreams, endpoints and runbooks are records
 * keyed by id, so an operator override addresses them by a stable path such as
 * `routes.payments.retry.maxAttempts` or `upstreams.payments.endpoints.a.weight`.
 */
import { z } from "zod";
import { hasDotSegment, isHopByHop } from "../http";

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const idSchema = z.string().regex(ID, "must be 1–64 letters, digits, '-' or '_'");

/** An RFC 9110 token: what a header name, or an unquoted Forwarded value, may be. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header name, lowercased as Node's `req.headers` keys are, so that it matches them. */
export const headerNameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(HTTP_TOKEN, "must be a header name, such as x-real-ip");

/** A refinement reporting what `problemOf` finds in a value, with its words as the message. */
function refuseWith<T>(problemOf: (value: T) => string | undefined) {
  return (value: T, ctx: z.RefinementCtx) => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  };
}

const ipFormats = [z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()];
/** One IP address (v4 or v6) or one CIDR range. */
export const addressOrCidrSchema = z
  .string()
  .refine((s) => ipFormats.some((f) => f.safeParse(s).success), {
    message: "must be an IP address or a CIDR range, such as 10.0.0.0/8 or fd00::/8",
  });

const ms = (max = 24 * 3600_000) => z.number().int().min(0).max(max);
const percent = z.number().min(0).max(100);

export const modeSchema = z.enum(["normal", "degraded", "read_only"]);

export const circuitBreakerSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Turn the breaker off entirely (calls always pass)."),
    scope: z
      .enum(["upstream", "route"])
      .default("upstream")
      .describe("One breaker per upstream (shared by its routes), or one per route × upstream."),
    window: z
      .discriminatedUnion("type", [
        z.object({
          type: z.literal("count"),
          size: z
            .number()
            .int()
            .min(1)
            .max(10_000)
            .default(100)
            .describe("Number of most recent calls in the window."),
        }),
        z.object({
          type: z.literal("time"),
          sizeMs: ms(3600_000)
            .min(1000)
            .default(60_000)
            .describe("Length of the window; calls are kept in one-second buckets."),
        }),
      ])
      .default({ type: "count", size: 100 })
      .describe(
        "Sliding window over which failure and slow-call rates are computed. Default: last 100 calls.",
      ),
    minimumCalls: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(20)
      .describe(
        "Calls needed in the window before rates can trip the breaker (at most a count window's size).",
      ),
    failureRateThreshold: percent
      .default(50)
      .describe("Open when the failure rate in the window is ≥ this percentage."),
    slowCallDurationMs: ms()
      .min(1)
      .default(2000)
      .describe("A call slower than this counts as slow."),
    slowCallRateThreshold: percent
      .default(100)
      .describe("Open when the slow-call rate is ≥ this percentage (100 = only if all are slow)."),
    consecutiveFailures: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe("Open after this many failures in a row (0 = off)."),
    openDurationMs: ms()
      .min(1)
      .default(5000)
      .describe("How long the breaker stays open before admitting probes."),
    openBackoffMultiplier: z
      .number()
      .min(1)
      .max(10)
      .default(2)
      .describe("Open duration grows by this factor on each consecutive trip."),
    maxOpenDurationMs: ms().min(1).default(60_000).describe("Cap for the growing open duration."),
    honorRetryAfter: z
      .boolean()
      .default(true)
      .describe("Stay open for the upstream's Retry-After when it is longer."),
    halfOpenMaxProbes: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(3)
      .describe("Probes admitted at once in half-open; other callers fail fast."),
    halfOpenSuccessesToClose: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(3)
      .describe("Successful probes needed to close."),
    forcedState: z
      .enum(["none", "forced_open", "forced_closed", "shadow"])
      .default("none")
      .describe(
        "Operator override: hold open, hold closed, or shadow (evaluate, emit, never block).",
      ),
  })
  .strict();

/**
 * The fields of `schema` as overrides: each optional and without its default, so a parsed
 * override holds only the keys written and leaves the others to what it overrides. (zod's
 * `.partial()` keeps the defaults and would fill in every key.) Descriptions are kept.
 */
function overridesOf<T extends z.ZodRawShape>(schema: z.ZodObject<T>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const inner = field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field;
    const description = field.description;
    shape[key] = (description === undefined ? inner : inner.describe(description)).optional();
  }
  return z.object(shape as { [K in keyof T]: z.ZodOptional<WithoutDefault<T[K]>> }).strict();
}
type WithoutDefault<S> = S extends z.ZodDefault<infer I> ? I : S;

/** A route's overrides of its upstream's breaker: only the keys written. */
export const circuitBreakerOverrideSchema = overridesOf(circuitBreakerSchema);

export const retrySchema = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe("Total attempts including the first (1 = no retry)."),
    baseDelayMs: ms(60_000)
      .default(50)
      .describe("Backoff base: attempt n waits random(0, min(max, base·mult^(n−1)))."),
    maxDelayMs: ms(300_000).default(2000).describe("Backoff cap per wait."),
    multiplier: z
      .number()
      .min(1)
      .max(10)
      .default(2)
      .describe("Growth factor of the backoff ceiling per attempt."),
    retryOn: z
      .array(z.enum(["http_5xx", "connect_error", "timeout", "rate_limited"]))
      .default(["http_5xx", "connect_error", "timeout", "rate_limited"])
      .describe("Outcome kinds worth another attempt. Client errors are never retried."),
    honorRetryAfter: z
      .boolean()
      .default(true)
      .describe("Wait the upstream's Retry-After when it fits within the deadline."),
    maxRetryAfterMs: ms()
      .default(10_000)
      .describe("A longer Retry-After ends retrying instead of waiting."),
  })
  .strict();

export const retryBudgetSchema = z
  .object({
    percent: percent
      .default(20)
      .describe("Retries in flight may be at most this % of active requests, rounded down…"),
    minConcurrent: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(3)
      .describe("…or this many, whichever is larger (Envoy's 20% / 3)."),
  })
  .strict();

export const timeoutsSchema = z
  .object({
    connectMs: ms(60_000).min(1).default(1000).describe("TCP connect timeout per attempt."),
    perTryMs: ms(300_000)
      .min(1)
      .default(5000)
      .describe(
        "Time to response headers, per attempt; also the longest an answer's body may pause before it is cut.",
      ),
    totalMs: ms(600_000)
      .min(1)
      .default(15_000)
      .describe("Deadline for the whole request including retries and backoff."),
  })
  .strict();

export const bulkheadSchema = z
  .object({
    maxConcurrent: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(100)
      .describe("Concurrent calls to the upstream."),
    maxQueue: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(50)
      .describe("Callers that may wait for a slot (0 = reject at once)."),
    queueTimeoutMs: ms(60_000).default(1000).describe("How long a caller may wait for a slot."),
    perConsumerMaxConcurrent: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(0)
      .describe("Concurrent calls per consumer (0 = no cap)."),
  })
  .strict();

export const rateLimitTierSchema = z
  .object({
    limit: z.number().int().min(1).max(10_000_000).describe("Requests allowed per window."),
    windowMs: ms().min(1).default(1000).describe("Window the limit applies to."),
    burst: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .default(0)
      .describe("Extra tokens above the limit (token bucket)."),
  })
  .strict();

export const rateLimitSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Turn rate limiting off for the route."),
    algorithm: z
      .enum(["token_bucket", "sliding_window"])
      .default("token_bucket")
      .describe(
        "Token bucket (smooth refill, optional burst) or sliding window (weighted two-window count).",
      ),
    tiers: z
      .record(idSchema, rateLimitTierSchema)
      .default({ default: { limit: 100, windowMs: 1000, burst: 0 } })
      .describe("Limits per consumer tier; consumers without a tier use 'default'."),
    adaptive: z
      .object({
        enabled: z.boolean().default(false).describe("Lower limits while the upstream struggles."),
        latencyP99Ms: ms()
          .min(1)
          .default(1000)
          .describe("Lower limits while the upstream's p99 is above this."),
        errorRatePercent: percent.default(20).describe("…or its error rate is above this."),
        minFactor: z
          .number()
          .min(0.01)
          .max(1)
          .default(0.25)
          .describe("Lowest fraction of the configured limit."),
        stepFactor: z
          .number()
          .min(0.01)
          .max(1)
          .default(0.5)
          .describe("Multiply the limit by this on each step down."),
      })
      .strict()
      .default({
        enabled: false,
        latencyP99Ms: 1000,
        errorRatePercent: 20,
        minFactor: 0.25,
        stepFactor: 0.5,
      }),
  })
  .strict();

export const outlierSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Passive outlier detection from real traffic."),
    consecutive5xx: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(5)
      .describe("Eject after this many failures in a row (0 = off)."),
    failurePercent: percent
      .default(0)
      .describe("Eject when its failure % over the interval is ≥ this (0 = off)."),
    failurePercentMinRequests: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe("Requests an endpoint needs in the interval before its failure % counts."),
    intervalMs: ms()
      .min(100)
      .default(10_000)
      .describe("Period over which failure percentage is measured."),
    baseEjectionMs: ms()
      .min(1)
      .default(30_000)
      .describe("Ejection time; multiplied by the number of times ejected."),
    maxEjectionMs: ms().min(1).default(300_000).describe("Cap for the growing ejection time."),
    maxEjectionPercent: percent
      .default(50)
      .describe("Never eject more than this % of the upstream's endpoints."),
  })
  .strict();

/** Stands in for an endpoint when checking where a health-check path resolves. */
const PROBE_BASE = "http://endpoint.invalid/";

/**
 * The gateway probes `new URL(path, endpoint)`. URL parsing reads `\` as `/` and drops tabs and
 * newlines, so `//name`, `/\name` or `/<tab>/name` would send the probe to another host.
 */
function healthCheckPathProblem(path: string): string | undefined {
  if (!path.startsWith("/") || path.startsWith("//"))
    return "must be a path starting with a single /, such as /health";
  if (/[\\\x00-\x1f\x7f]/.test(path))
    return "must not hold a backslash or a control character: a URL parser reads \\ as / and drops tabs and newlines, so the probe could go to another host (percent-encode them: \\ is %5C)";
  if (
    !URL.canParse(path, PROBE_BASE) ||
    new URL(path, PROBE_BASE).origin !== new URL(PROBE_BASE).origin
  )
    return "must be a path on the endpoint: it resolves to another host";
  return undefined;
}

export const healthCheckSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Probe each endpoint actively."),
    path: z
      .string()
      .superRefine(refuseWith(healthCheckPathProblem))
      .default("/health")
      .describe("Path requested with GET on each endpoint."),
    intervalMs: ms()
      .min(100)
      .default(5000)
      .describe("Interval between probes of a healthy endpoint."),
    unhealthyIntervalMs: ms()
      .min(100)
      .default(1000)
      .describe("Faster interval while an endpoint is unhealthy."),
    timeoutMs: ms().min(1).default(1000).describe("A probe slower than this fails."),
    rise: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(2)
      .describe("Consecutive passes to mark healthy."),
    fall: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe("Consecutive failures to mark unhealthy."),
    expectStatus: z
      .array(z.number().int().min(100).max(599))
      .default([200])
      .describe("Statuses that count as a pass."),
  })
  .strict();

/**
 * An endpoint's address. The gateway speaks plain HTTP to a host and port and sends each
 * request's own path, so anything else in the URL would be dropped without a word: it is
 * refused instead, with what to write.
 */
function endpointUrlProblem(u: URL): string | undefined {
  if (u.protocol === "https:")
    return "must be an http:// URL: the gateway does not open TLS connections to upstreams";
  if (u.protocol !== "http:") return "must be an http:// URL, such as http://10.0.0.5:8080";
  if (u.username !== "" || u.password !== "")
    return "must not carry a user or password: the gateway would not send them";
  if (u.pathname !== "/")
    return `must have no path (${u.pathname}): each request keeps its own path, less the route's stripPrefix`;
  if (u.search !== "" || u.hash !== "") return "must have no query or fragment";
  return undefined;
}

export const endpointUrlSchema = z
  .url()
  // An unparsable value: z.url() has said so.
  .superRefine(refuseWith((v) => (URL.canParse(v) ? endpointUrlProblem(new URL(v)) : undefined)));

export const endpointSchema = z
  .object({
    url: endpointUrlSchema.describe(
      "Address of one upstream instance, `http://host:port`: plain HTTP, no path, user, query or fragment.",
    ),
    weight: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(100)
      .describe("Relative share of traffic (0 = drained)."),
  })
  .strict();

export const upstreamSchema = z
  .object({
    endpoints: z
      .record(idSchema, endpointSchema)
      .refine((e) => Object.keys(e).length > 0, "needs at least one endpoint"),
    maxSockets: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(256)
      .describe("Keep-alive pool size per endpoint."),
    circuitBreaker: circuitBreakerSchema.default(circuitBreakerSchema.parse({})),
    bulkhead: bulkheadSchema.default(bulkheadSchema.parse({})),
    retryBudget: retryBudgetSchema.default(retryBudgetSchema.parse({})),
    outlierDetection: outlierSchema.default(outlierSchema.parse({})),
    healthCheck: healthCheckSchema.default(healthCheckSchema.parse({})),
    slowStartMs: ms()
      .default(0)
      .describe("Ramp a recovered endpoint's weight up over this time (0 = off)."),
    weightShiftMs: ms()
      .default(0)
      .describe("Move to newly configured weights gradually over this time (0 = at once)."),
  })
  .strict();

/** Fields the gateway writes on a static answer itself, and why. */
const GATEWAY_WRITTEN_FIELDS: Readonly<Record<string, string>> = {
  "content-length": "is set by the gateway from the body's length",
  "x-request-id": "is set by the gateway on every answer",
  "x-degraded": "is set by the gateway on every static answer",
};
/** A field value as Node writes it: no line breaks or other control characters but tab. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function staticFieldProblem(name: string, value: string, twin: string | undefined) {
  if (!HTTP_TOKEN.test(name)) return "must be a header name, such as content-type";
  const lower = name.toLowerCase();
  const written = GATEWAY_WRITTEN_FIELDS[lower];
  if (written !== undefined) return written;
  if (isHopByHop(lower))
    return "is a hop-by-hop or framing field, which a static answer cannot set";
  if (twin !== undefined) return `is given twice, also as ${twin}`;
  if (!FIELD_VALUE.test(value)) return "must be a value without line breaks or control characters";
  return undefined;
}

/**
 * A static answer's header fields, checked at load: a bad name used to make the answer throw
 * when it was served, and a Content-Length or Transfer-Encoding of its own broke its framing.
 */
export const staticHeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const problem = staticFieldProblem(name, value, seen.get(name.toLowerCase()));
    seen.set(name.toLowerCase(), name);
    if (problem !== undefined) ctx.addIssue({ code: "custom", path: [name], message: problem });
  }
});

export const staticFallbackSchema = z
  .object({
    status: z
      .number()
      .int()
      .min(200)
      .max(599)
      .default(200)
      .describe("Status of the static fallback response."),
    headers: staticHeadersSchema
      .default({})
      .describe(
        "Headers of the static fallback response. Not Content-Length (set from the body), X-Request-Id and X-Degraded (set by the gateway), nor hop-by-hop fields.",
      ),
    body: z.string().max(1_048_576).default("").describe("Body of the static fallback response."),
  })
  .strict();

export const faultInjectionSchema = z
  .object({
    delayPercent: percent
      .default(0)
      .describe("Share of requests delayed before the upstream call."),
    delayMs: ms(60_000).default(0).describe("Added latency for delayed requests."),
    abortPercent: percent
      .default(0)
      .describe("Share of requests answered with abortStatus without calling the upstream."),
    abortStatus: z
      .number()
      .int()
      .min(400)
      .max(599)
      .default(503)
      .describe("Status of injected aborts."),
  })
  .strict();

export const sloSchema = z
  .object({
    successTarget: z
      .number()
      .min(0.5)
      .max(0.99999)
      .default(0.999)
      .describe("Fraction of requests that must succeed."),
    latencyThresholdMs: ms()
      .min(1)
      .default(500)
      .describe("A request slower than this is slow for the latency SLO."),
    latencyTarget: z
      .number()
      .min(0.5)
      .max(0.99999)
      .default(0.99)
      .describe("Fraction of requests faster than the threshold."),
    windowDays: z
      .number()
      .int()
      .min(1)
      .max(90)
      .default(30)
      .describe("SLO compliance window the error budget covers."),
    burnRateAlert: z
      .number()
      .min(1)
      .max(1000)
      .default(14.4)
      .describe("Burn rate (1h and 5m windows) that opens an incident."),
  })
  .strict();

export const websocketSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Proxy WebSocket upgrades (GET with Upgrade: websocket) on this route. Off: they get a 403 upgrade-not-allowed problem.",
      ),
    idleTimeoutMs: ms()
      .default(300_000)
      .describe("Close a tunnel that carries no bytes either way for this long (0: never)."),
    healthyAfterMs: ms(600_000)
      .default(5000)
      .describe(
        "How long a tunnel must last before its handshake counts as a success on the upstream's circuit breaker. A tunnel whose upstream socket fails sooner counts as a failure; one that either side closes sooner counts as a success. A half-open probe holds its slot until then. 0: the 101 counts at once.",
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1000)
      .describe(
        "Open tunnels (and handshakes in progress) allowed on the route; past it a handshake gets 503 bulkhead-full.",
      ),
    maxConnectionsPerClient: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe(
        "Open tunnels (and handshakes in progress) one client may hold on the route: its consumer (API key), or its address without one. Past it a handshake gets 429 rate-limited. Unset: no per-client cap.",
      ),
  })
  .strict();

const DNS_NAME =
  /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const ipv6 = z.ipv6();

function hostMatchProblem(host: string): string | undefined {
  if (host.includes("/")) return "must be a host, not a URL, such as api.example.com";
  if (host.includes("*"))
    return "must be one host: wildcards are not supported; give each host its own route, or leave host out to match any";
  if (host.startsWith("["))
    return host.endsWith("]") && ipv6.safeParse(host.slice(1, -1)).success
      ? undefined
      : "must be an IPv6 address in brackets, such as [2001:db8::1]";
  if (ipv6.safeParse(host).success)
    return `must be an IPv6 address in brackets, as in the Host header: [${host}]`;
  if (host.includes(":"))
    return "must be a host without its port: the Host header's port is not compared";
  return DNS_NAME.test(host)
    ? undefined
    : "must be a host name or address, such as api.example.com";
}

/** A route's host, compared with the request's Host header less its port, case-insensitively. */
export const hostMatchSchema = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine(refuseWith(hostMatchProblem));

/** What an origin-form request target may hold (RFC 3986 pchar, `/` and `?`). */
const TARGET_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;

function pathPrefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith("/")) return "must start with /";
  if (prefix.includes("#")) return "must not hold a #: a request's target never carries one";
  if (!TARGET_CHARS.test(prefix))
    return "must be written as requests send it: a space, a non-ASCII letter and other such characters are percent-encoded there (a space is %20, é is %C3%A9)";
  if (hasDotSegment(prefix))
    return "must not have a . or .. segment: the gateway refuses requests whose path has one";
  return undefined;
}

/** A route's path prefix, compared byte for byte with the request's path (and query). */
export const pathPrefixSchema = z.string().superRefine(refuseWith(pathPrefixProblem));

export const routeMatchSchema = z
  .object({
    pathPrefix: pathPrefixSchema.describe(
      "Longest matching prefix wins. Compared with the request's path as sent, so written as it is sent: percent-encoded where a request would encode it.",
    ),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, "must be a method in capitals, such as GET"))
      .min(1, "must list at least one method, or be left out to match every method")
      .optional()
      .describe("Default: every method."),
    host: hostMatchSchema
      .optional()
      .describe(
        "Exact host, compared with the Host header less its port, case-insensitively; an IPv6 address in brackets. Default: any host.",
      ),
  })
  .strict();

/** `1xx`–`5xx`, or `lo-hi` with 100 ≤ lo ≤ hi ≤ 599: a class or range some status can match. */
function isStatusClassOrRange(s: string): boolean {
  if (/^[1-5]xx$/.test(s)) return true;
  const m = /^(\d{3})-(\d{3})$/.exec(s);
  if (m === null) return false;
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  return lo >= 100 && lo <= hi && hi <= 599;
}

export const routeSchema = z
  .object({
    match: routeMatchSchema,
    upstream: idSchema.describe("Upstream that serves the route."),
    stripPrefix: z
      .boolean()
      .default(false)
      .describe("Remove the matched prefix before forwarding."),
    criticality: z
      .enum(["critical", "non_critical"])
      .default("critical")
      .describe("Non-critical routes are served from cache/fallback in degraded mode."),
    mode: modeSchema
      .default("normal")
      .describe(
        "normal, degraded (non-critical routes served from cache/fallback) or read_only (unsafe methods refused).",
      ),
    failureStatuses: z
      .array(
        z.union([
          z.number().int().min(100).max(599),
          z.string().refine(isStatusClassOrRange, {
            message:
              "must be a status from 100 to 599, a class such as 5xx, or a range such as 500-504, low to high",
          }),
        ]),
      )
      .default(["5xx"])
      .describe("Statuses counted as upstream failures."),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    circuitBreaker: circuitBreakerOverrideSchema
      .optional()
      .describe(
        "Per-route overrides of the upstream's breaker: keys not given keep the upstream's values. With scope: route, the route gets a breaker of its own.",
      ),
    rateLimit: rateLimitSchema.optional(),
    cache: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Cache cacheable GET responses (HTTP caching rules) and keep them for stale-if-error.",
          ),
        maxStaleMs: ms()
          .default(300_000)
          .describe("Serve a stale entry on failure up to this age past freshness."),
        maxEntryBytes: z
          .number()
          .int()
          .min(1)
          .max(64 * 1024 * 1024)
          .default(1_048_576)
          .describe("Larger responses stream through uncached."),
      })
      .strict()
      .optional(),
    fallback: z
      .object({
        upstream: idSchema.optional().describe("Upstream tried once when the primary fails."),
        static: staticFallbackSchema
          .optional()
          .describe("Response served when nothing else can answer."),
      })
      .strict()
      .optional(),
    shift: z
      .object({
        to: idSchema.describe("Upstream receiving the shifted share."),
        percent: percent.describe("Share of the route's traffic sent there."),
        durationMs: ms()
          .default(0)
          .describe("Ramp from 0 to percent over this time after the change is applied."),
      })
      .strict()
      .optional()
      .describe("Send a share of traffic to another upstream (e.g. a fallback)."),
    faultInjection: faultInjectionSchema.default(faultInjectionSchema.parse({})),
    websocket: websocketSchema
      .default(websocketSchema.parse({}))
      .describe(
        "WebSocket tunnels. The handshake goes through the pipeline (rate limit, breaker, bulkhead, retries, per-try timeout); read-only mode, and degraded mode on a non-critical route, refuse new tunnels and close open ones.",
      ),
    slo: sloSchema.default(sloSchema.parse({})),
  })
  .strict();

export const runbookStepSchema = z.discriminatedUnion("action", [
  z
    .object({
      action: z.literal("set_mode"),
      scope: z.enum(["gateway", "route"]),
      target: idSchema.optional(),
      mode: modeSchema,
      ttlMs: ms(30 * 24 * 3600_000).optional(),
    })
    .strict(),
  z
    .object({
      action: z.literal("force_breaker"),
      upstream: idSchema,
      state: z.enum(["none", "forced_open", "forced_closed", "shadow"]),
    })
    .strict(),
  z
    .object({
      action: z.literal("shift_weight"),
      upstream: idSchema,
      weights: z.record(idSchema, z.number().int().min(0).max(1000)),
    })
    .strict(),
  z
    .object({
      action: z.literal("shift_traffic"),
      route: idSchema,
      to: idSchema,
      percent: percent,
      durationMs: ms().default(0),
    })
    .strict(),
  z
    .object({ action: z.literal("set_value"), path: z.string().min(1), value: z.unknown() })
    .strict(),
]);

export const runbookSchema = z
  .object({
    title: z.string().min(1).describe("Shown to operators."),
    description: z.string().default("").describe("When to run it and what it does."),
    steps: z
      .array(runbookStepSchema)
      .min(1)
      .describe(
        "Actions run in order: set_mode, force_breaker, shift_weight, shift_traffic, set_value.",
      ),
  })
  .strict();

export const gatewaySchema = z
  .object({
    listen: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 8080 })
      .describe("Traffic listener. Fixed when the gateway starts: overrides are refused."),
    admin: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(9090),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 9090 })
      .describe(
        "Admin listener (health, readiness, metrics). Fixed when the gateway starts: overrides are refused.",
      ),
    mode: modeSchema
      .default("normal")
      .describe("Gateway-wide mode; the stricter of gateway and route mode applies."),
    limits: z
      .object({
        maxHeaderBytes: z
          .number()
          .int()
          .min(1024)
          .max(1_048_576)
          .default(16_384)
          .describe("Larger request headers get 431. Fixed when the gateway starts."),
        headersTimeoutMs: ms()
          .min(100)
          .default(10_000)
          .describe("Time allowed to receive request headers (slowloris guard)."),
        requestTimeoutMs: ms()
          .min(100)
          .default(60_000)
          .describe("Time allowed to receive a whole request."),
        maxBodyBytes: z
          .number()
          .int()
          .min(0)
          .default(10 * 1024 * 1024)
          .describe("Larger request bodies get 413."),
        retryBodyBytes: z
          .number()
          .int()
          .min(0)
          .default(1_048_576)
          .describe("Request bodies up to this size are buffered so they can be retried."),
        keepAliveTimeoutMs: ms()
          .default(5000)
          .describe("Idle time before a client connection is closed."),
        sendTimeoutMs: ms()
          .min(100)
          .default(60_000)
          .describe(
            "Time a client may go without reading any of a streamed answer before its connection and the upstream request are cut (as nginx's send_timeout).",
          ),
      })
      .strict()
      .default({
        maxHeaderBytes: 16_384,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 60_000,
        maxBodyBytes: 10 * 1024 * 1024,
        retryBodyBytes: 1_048_576,
        keepAliveTimeoutMs: 5000,
        sendTimeoutMs: 60_000,
      }),
    consumers: z
      .object({
        apiKeyHeader: headerNameSchema
          .default("x-api-key")
          .describe("Header naming the consumer; the client IP is used without it."),
        tiers: z
          .record(z.string(), idSchema)
          .default({})
          .describe("API key → rate-limit tier. Unknown keys use 'default'."),
        unknownKeys: z
          .enum(["address", "key"])
          .default("address")
          .describe(
            "Who sends a key that is not in `tiers`. `address`: the client address, as without a key, so a client that makes up keys gets no rate limit or tunnel cap of its own for each. `key`: the key, when a proxy in front has already checked the keys.",
          ),
        trustedProxyHops: z
          .number()
          .int()
          .min(0)
          .max(10)
          .default(0)
          .describe(
            "Proxies in front of the gateway that each append the address they saw to X-Forwarded-For (or to the header `clientAddressHeader` names). 0: the client address is the connection's. N: it is the Nth address from the right of X-Forwarded-For, the one the outermost of them appended; a request with fewer is known by its connection's address. Only right when clients cannot reach the gateway but through those proxies; else use `trustedProxies`.",
          ),
        trustedProxies: z
          .array(addressOrCidrSchema)
          .max(256)
          .default([])
          .describe(
            "Addresses or CIDR ranges of the proxies in front of the gateway (as Envoy's xff_trusted_cidrs and nginx's set_real_ip_from with real_ip_recursive). A request from one of them is known by the rightmost X-Forwarded-For (or `clientAddressHeader`) address that is not one of them; a request from anywhere else by its connection's address, whatever it sends. Not with `trustedProxyHops`.",
          ),
        clientAddressHeader: headerNameSchema
          .default("x-forwarded-for")
          .describe(
            "The header the proxies in front write client addresses to, as nginx's real_ip_header: `x-forwarded-for`; `forwarded` (RFC 7239, the `for=` of each element; `unknown` and obfuscated names count as no address); or any other, such as `x-real-ip`, `cf-connecting-ip` or `true-client-ip`, read as a comma-separated list of addresses like X-Forwarded-For. Read only with `trustedProxyHops` or `trustedProxies`, and no other header ever, so a client cannot pick its address through one the proxies leave alone.",
          ),
      })
      .strict()
      .superRefine((c, ctx) => {
        if (c.trustedProxyHops > 0 && c.trustedProxies.length > 0)
          ctx.addIssue({
            code: "custom",
            path: ["trustedProxies"],
            message:
              "set trustedProxyHops or trustedProxies, not both: hops trusts whoever is that many steps away, the list only the proxies it names",
          });
      })
      .default({
        apiKeyHeader: "x-api-key",
        tiers: {},
        unknownKeys: "address",
        trustedProxyHops: 0,
        trustedProxies: [],
        clientAddressHeader: "x-forwarded-for",
      }),
    cache: z
      .object({
        maxBytes: z
          .number()
          .int()
          .min(0)
          .default(64 * 1024 * 1024)
          .describe("Memory for cached responses (LRU by bytes)."),
      })
      .strict()
      .default({ maxBytes: 64 * 1024 * 1024 }),
    drainTimeoutMs: ms()
      .default(10_000)
      .describe("On SIGTERM, wait this long for in-flight requests."),
    deadlineHeader: headerNameSchema
      .default("x-request-deadline-ms")
      .describe("Header carrying the remaining budget upstream."),
    forwarded: z
      .object({
        xForwardedFor: z
          .boolean()
          .default(true)
          .describe("Append the client address to X-Forwarded-For."),
        xForwardedProto: z
          .boolean()
          .default(true)
          .describe("Set X-Forwarded-Proto when the client sent none."),
        xForwardedHost: z
          .boolean()
          .default(false)
          .describe(
            "Set X-Forwarded-Host when the client sent none. Off by default: Host is passed upstream unchanged.",
          ),
        rfc7239: z
          .boolean()
          .default(false)
          .describe("Append an RFC 7239 Forwarded element (for, host, proto)."),
      })
      .strict()
      .default({
        xForwardedFor: true,
        xForwardedProto: true,
        xForwardedHost: false,
        rfc7239: false,
      })
      .describe(
        "Which forwarding headers are added upstream. Each costs every request a header, so only the two most upstreams read are on by default (as Envoy does).",
      ),
  })
  .strict();

/**
 * Routes that can never be matched, with the routes that take their requests. The gateway
 * tries the longest pathPrefix first and, among equal ones, a route with a host before one
 * without, then the order of the config; so a route is dead when earlier routes with its
 * pathPrefix and host already take every method it lists.
 */
function shadowedRoutes(
  routes: Record<string, { match: { pathPrefix: string; host?: string; methods?: string[] } }>,
): [string, string[]][] {
  const dead: [string, string[]][] = [];
  const entries = Object.entries(routes);
  entries.forEach(([id, r], i) => {
    const same = entries
      .slice(0, i)
      .filter(
        ([, e]) => e.match.pathPrefix === r.match.pathPrefix && e.match.host === r.match.host,
      );
    const anyMethod = same.find(([, e]) => e.match.methods === undefined);
    if (anyMethod) {
      dead.push([id, [anyMethod[0]]]);
      return;
    }
    const wanted = r.match.methods;
    if (wanted === undefined || wanted.length === 0) return;
    const takers = same.filter(([, e]) => e.match.methods!.some((m) => wanted.includes(m)));
    if (wanted.every((m) => takers.some(([, e]) => e.match.methods!.includes(m))))
      dead.push([id, takers.map(([t]) => t)]);
  });
  return dead;
}

export const configSchema = z
  .object({
    gateway: gatewaySchema.default(gatewaySchema.parse({})),
    upstreams: z.record(idSchema, upstreamSchema),
    routes: z.record(idSchema, routeSchema),
    runbooks: z.record(idSchema, runbookSchema).default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    for (const [id, takers] of shadowedRoutes(cfg.routes)) {
      const names = takers.map((t) => `routes.${t}`).join(" and ");
      const [come, take] = takers.length > 1 ? ["come", "take"] : ["comes", "takes"];
      ctx.addIssue({
        code: "custom",
        path: ["routes", id, "match"],
        message: `never matched: ${names} ${come} first with the same pathPrefix and host, and ${take} every method this route lists`,
      });
    }
    for (const [id, r] of Object.entries(cfg.routes)) {
      const refs: [string, string | undefined][] = [
        ["upstream", r.upstream],
        ["fallback.upstream", r.fallback?.upstream],
        ["shift.to", r.shift?.to],
      ];
      for (const [field, ref] of refs) {
        if (ref !== undefined && !Object.hasOwn(cfg.upstreams, ref)) {
          ctx.addIssue({
            code: "custom",
            path: ["routes", id, ...field.split(".")],
            message: `unknown upstream '${ref}'`,
          });
        } else if (field !== "upstream" && ref === r.upstream) {
          // A fallback to the upstream that failed, or a share sent where it already goes.
          ctx.addIssue({
            code: "custom",
            path: ["routes", id, ...field.split(".")],
            message: `is the route's own upstream '${ref}': name another one`,
          });
        }
      }
    }
    for (const [id, rb] of Object.entries(cfg.runbooks)) {
      rb.steps.forEach((s, i) => {
        const path = ["runbooks", id, "steps", i];
        if (
          s.action === "set_mode" &&
          s.scope === "route" &&
          (!s.target || !Object.hasOwn(cfg.routes, s.target))
        )
          ctx.addIssue({
            code: "custom",
            path: [...path, "target"],
            message: `unknown route '${s.target ?? ""}'`,
          });
        if (
          (s.action === "force_breaker" || s.action === "shift_weight") &&
          !Object.hasOwn(cfg.upstreams, s.upstream)
        )
          ctx.addIssue({
            code: "custom",
            path: [...path, "upstream"],
            message: `unknown upstream '${s.upstream}'`,
          });
        if (s.action === "shift_traffic" && !Object.hasOwn(cfg.routes, s.route))
          ctx.addIssue({
            code: "custom",
            path: [...path, "route"],
            message: `unknown route '${s.route}'`,
          });
      });
    }
  });

/** The config as written (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** The config after validation, with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type GatewayConfig = Config["gateway"];
export type RouteConfig = Config["routes"][string];
export type UpstreamConfig = Config["upstreams"][string];
export type EndpointConfig = UpstreamConfig["endpoints"][string];
export type CircuitBreakerConfig = z.output<typeof circuitBreakerSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type RetryBudgetConfig = z.output<typeof retryBudgetSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type BulkheadConfig = z.output<typeof bulkheadSchema>;
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RateLimitTierConfig = z.output<typeof rateLimitTierSchema>;
export type OutlierConfig = z.output<typeof outlierSchema>;
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
export type FaultInjectionConfig = z.output<typeof faultInjectionSchema>;
export type WebSocketConfig = z.output<typeof websocketSchema>;
export type SloConfig = z.output<typeof sloSchema>;
export type RunbookConfig = z.output<typeof runbookSchema>;
export type RunbookStep = z.output<typeof runbookStepSchema>;
export type ModeName = z.output<typeof modeSchema>;
