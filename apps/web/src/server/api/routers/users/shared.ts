import type { UserChangeBy, UserChangeRefusal } from "@rg/db";
import { TRPCError } from "@trpc/server";
import type { Auth } from "../../../auth/auth";
import { actorOf, type SignedInContext } from "../../trpc";

export async function authContext(auth: Auth) {
  return auth.$context;
}

/** The signed-in admin making a user change, for its audit row. */
export function changeBy(ctx: SignedInContext): UserChangeBy {
  return { ...actorOf(ctx), at: ctx.now() };
}

const CODES = {
  not_found: "NOT_FOUND",
  email_taken: "CONFLICT",
  last_admin: "BAD_REQUEST",
} as const satisfies Record<UserChangeRefusal["reason"], TRPCError["code"]>;

/** A change the store refused (nothing was applied), as the caller's error. */
export function refuse(r: UserChangeRefusal): never {
  throw new TRPCError({ code: CODES[r.reason], message: r.message });
}
