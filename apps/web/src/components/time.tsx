"use client";
import { formatAgo, formatDateTime, formatDuration } from "~/lib/format";
import { useNow } from "~/lib/use-now";

/**
 * "12 s ago", ticking. Server and browser clocks differ by the render delay, so the text may
 * legitimately change during hydration.
 */
export function Ago({ at }: { at: number | null | undefined }) {
  const now = useNow(1000);
  return (
    <time
      dateTime={at ? new Date(at).toISOString() : undefined}
      title={at ? formatDateTime(at) : undefined}
      suppressHydrationWarning
    >
      {formatAgo(at, now)}
    </time>
  );
}

/** Time elapsed since `at` ("3 min 20 s"), ticking. */
export function Elapsed({ since, until }: { since: number; until?: number | null }) {
  const now = useNow(1000);
  return <span suppressHydrationWarning>{formatDuration((until ?? now) - since)}</span>;
}
