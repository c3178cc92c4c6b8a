import { TRPCError } from "@trpc/server";
import type { Auth } from "../../../auth/auth";
import { parseRole } from "../../../auth/roles";

export async function authContext(auth: Auth) {
  return auth.$context;
}

/** Refuse a change that would leave no admin who can sign in. */
export async function assertAdminRemains(auth: Auth, losingUserId: string): Promise<void> {
  const ctx = await authContext(auth);
  const users = await ctx.internalAdapter.listUsers(1000);
  const admins = users.filter(
    (u) => parseRole((u as { role?: unknown }).role) === "admin" && u.id !== losingUserId,
  );
  if (admins.length === 0) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "at least one admin must remain" });
  }
}
