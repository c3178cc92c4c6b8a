import { parseRole } from "../../../auth/roles";
import { adminProcedure } from "../../trpc";
import { authContext } from "./shared";

/** Every user with role and creation time (never password data). */
export const list = adminProcedure.query(async ({ ctx }) => {
  const a = await authContext(ctx.auth);
  const users = await a.internalAdapter.listUsers(1000, 0, { field: "email", direction: "asc" });
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    name: u.name,
    role: parseRole((u as { role?: unknown }).role),
    createdAt: u.createdAt,
    isSelf: u.id === ctx.user.id,
  }));
});
