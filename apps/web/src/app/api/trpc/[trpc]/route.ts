import { env } from "~/env";
import { createTrpcHandler } from "~/server/api/handler";
import { getAuth } from "~/server/auth";
import { getStore } from "~/server/db";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function trustedOrigins(): string[] {
  const e = env();
  return [e.AUTH_URL, ...(e.AUTH_TRUSTED_ORIGINS ?? "").split(",")]
    .map((o) => o?.trim() ?? "")
    .filter(Boolean);
}

let handler: ((req: Request) => Promise<Response>) | undefined;

function handle(req: Request): Promise<Response> {
  handler ??= createTrpcHandler({
    store: getStore,
    auth: getAuth,
    trustedOrigins: trustedOrigins(),
    onError: (path, error) => console.error(`tRPC ${path ?? "?"} failed:`, error),
  });
  return handler(req);
}

export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE };
