import { describe, expect, it } from "vitest";
import { ERROR_CATALOGUE } from "../../errors";
import { chooseFallback, FALLBACK_ERROR } from "./fallback";
import type { FallbackCause } from "./fallback";

const staticResponse = { status: 200, headers: { "content-type": "application/json" }, body: "[]" };

describe("chooseFallback", () => {
  it("prefers the stale cache over everything else", () => {
    expect(
      chooseFallback({
        cause: "upstream_failed",
        staleAvailable: true,
        fallbackUpstream: "backup",
        fallbackUpstreamAvailable: true,
        staticResponse,
      }),
    ).toEqual({ source: "stale_cache" });
  });

  it("uses the fallback upstream when there is no stale entry", () => {
    expect(
      chooseFallback({
        cause: "breaker_open",
        staleAvailable: false,
        fallbackUpstream: "backup",
        staticResponse,
      }),
    ).toEqual({ source: "fallback_upstream", upstream: "backup" });
  });

  it("skips a fallback upstream known to be unavailable and serves the static response", () => {
    expect(
      chooseFallback({
        cause: "timeout",
        staleAvailable: false,
        fallbackUpstream: "backup",
        fallbackUpstreamAvailable: false,
        staticResponse,
      }),
    ).toEqual({ source: "static", response: staticResponse });
  });

  it("serves the static response when it is the only fallback", () => {
    expect(chooseFallback({ cause: "degraded", staleAvailable: false, staticResponse })).toEqual({
      source: "static",
      response: staticResponse,
    });
  });

  it("answers none with the error matching the cause", () => {
    const causes: [FallbackCause, string, number][] = [
      ["upstream_failed", "RG_UPSTREAM_UNAVAILABLE", 502],
      ["breaker_open", "RG_BREAKER_OPEN", 503],
      ["bulkhead_full", "RG_BULKHEAD_FULL", 503],
      ["timeout", "RG_UPSTREAM_TIMEOUT", 504],
      ["deadline", "RG_DEADLINE_EXCEEDED", 504],
      ["no_endpoint", "RG_NO_HEALTHY_ENDPOINT", 503],
      ["degraded", "RG_DEGRADED", 503],
    ];
    for (const [cause, code, status] of causes) {
      expect(ERROR_CATALOGUE[FALLBACK_ERROR[cause]].status).toBe(status);
      expect(
        chooseFallback({
          cause,
          staleAvailable: false,
          fallbackUpstream: "backup",
          fallbackUpstreamAvailable: false,
        }),
      ).toEqual({ source: "none", code });
    }
    expect(Object.keys(FALLBACK_ERROR)).toHaveLength(causes.length);
  });
});
