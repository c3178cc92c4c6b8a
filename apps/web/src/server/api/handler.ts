/** The tRPC HTTP handler used by the App Router route, with the request guard in front. */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { Store } from "@rg/db";
import type { Auth } from "../auth/auth";
import { guardTrpcRequest, readCappedBody, type ProcedureKind } from "./http-guard";
import { appRouter } from "./root";
import { createTRPCContext } from "./trpc";

export const TRPC_ENDPOINT = "/api/trpc";

const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { type: ProcedureKind } }
>;

export function kindOf(path: string): ProcedureKind | undefined {
  return Object.prototype.hasOwnProperty.call(procedures, path)
    ? procedures[path]?._def.type
    : undefined;
}

export interface HandlerDeps {
  store: () => Store;
  auth: () => Auth;
  trustedOrigins?: readonly string[];
  onError?: (path: string | undefined, error: Error) => void;
}

export function createTrpcHandler(deps: HandlerDeps) {
  return async (sent: Request): Promise<Response> => {
    const refused = guardTrpcRequest(sent, {
      endpoint: TRPC_ENDPOINT,
      kindOf,
      ...(deps.trustedOrigins ? { trustedOrigins: deps.trustedOrigins } : {}),
    });
    if (refused) return refused;
    // tRPC reads the whole body; read it here first, so no more than the limit is ever read.
    const req = sent.method.toUpperCase() === "POST" ? await readCappedBody(sent) : sent;
    if (req instanceof Response) return req;
    return fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req,
      router: appRouter,
      allowMethodOverride: false,
      createContext: () =>
        createTRPCContext({ headers: req.headers, store: deps.store(), auth: deps.auth() }),
      onError: ({ path, error }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") deps.onError?.(path, error);
      },
    });
  };
}
