import { currentRevision } from "@rg/db";
import { getStore } from "~/server/db";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Liveness and store reachability, for the start script and the e2e harness. */
export function GET(): Response {
  try {
    return Response.json({ ok: true, revision: currentRevision(getStore()) });
  } catch {
    return Response.json({ ok: false }, { status: 503 });
  }
}
