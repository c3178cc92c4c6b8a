/**
 * tRPC setup: the request context (store, auth, the signed-in user), the error shape the UI
 * reads, and the procedure builders by minimum role. Every procedure but `health` requires a
 * session; see root.ts for the router and security.test.ts for the per-role table.
 */
import { randomUUID } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { ConfigIssue } from "@rg/core";
import { formatIssues } from "@rg/core";
import type { Store } from "@rg/db";
import type { Auth } from "../auth/auth";
import { parseRole, roleAtLeast, type Role } from "../auth/roles";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  /** null when the stored role is not one the dashboard knows: such a user gets no access. */
  role: Role | null;
}

export interface Context {
  store: Store;
  auth: Auth;
  user: SessionUser | null;
  /** The request's x-request-id, or a new one; recorded on audit rows. */
  requestId: string;
  headers: Headers;
  /** Wall clock, injectable for tests. */
  now: () => number;
}

export interface SignedInContext extends Context {
  user: SessionUser & { role: Role };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Build the context of one HTTP request: resolves the session from its cookies. */
export async function createTRPCContext(opts: {
  headers: Headers;
  store: Store;
  auth: Auth;
}): Promise<Context> {
  const session = await opts.auth.api.getSession({ headers: opts.headers });
  const user: SessionUser | null = session
    ? {
        id: session.user.id,
        email: session.user.email,
        name: session.user.name,
        role: parseRole(session.user.role),
      }
    : null;
  return {
    store: opts.store,
    auth: opts.auth,
    user,
    requestId: requestIdFrom(opts.headers),
    headers: opts.headers,
    now: Date.now,
  };
}

/** A config change refused by validation: every `path: reason`, nothing applied. */
export class ConfigIssuesError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(formatIssues(issues).join("; "));
    this.name = "ConfigIssuesError";
  }
}

export function refuseIssues(issues: ConfigIssue[]): never {
  const cause = new ConfigIssuesError(issues);
  throw new TRPCError({ code: "BAD_REQUEST", message: cause.message, cause });
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Input validation failures as `path: reason` lines for forms.
        zodIssues:
          cause instanceof ZodError
            ? cause.issues.map((i) => ({ path: i.path.join("."), message: i.message }))
            : null,
        // Config validation failures (nothing was applied).
        issues: cause instanceof ConfigIssuesError ? cause.issues : null,
        // Never leak stack traces to the browser.
        stack: undefined,
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const mergeRouters = t.mergeRouters;

/** No session needed: used only for the health check. */
export const publicProcedure = t.procedure;

function requireRole(minimum: Role) {
  return t.middleware(({ ctx, next }) => {
    if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
    const role = ctx.user.role;
    if (!role || !roleAtLeast(role, minimum)) {
      throw new TRPCError({ code: "FORBIDDEN", message: `requires the ${minimum} role` });
    }
    return next({ ctx: { ...ctx, user: { ...ctx.user, role } } satisfies SignedInContext });
  });
}

export const viewerProcedure = t.procedure.use(requireRole("viewer"));
export const operatorProcedure = t.procedure.use(requireRole("operator"));
export const adminProcedure = t.procedure.use(requireRole("admin"));

/** Who did it, for audit rows. */
export function actorOf(ctx: SignedInContext): { actor: string; role: Role; requestId: string } {
  return { actor: ctx.user.email, role: ctx.user.role, requestId: ctx.requestId };
}
