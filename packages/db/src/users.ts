import { count } from "drizzle-orm";
import { user } from "./schema";
import type { Store } from "./store";

export type Role = "viewer" | "operator" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];

/** Number of user accounts (the dashboard offers first-admin sign-up while it is 0). */
export function countUsers(store: Store): number {
  return store.db.select({ n: count() }).from(user).get()?.n ?? 0;
}
