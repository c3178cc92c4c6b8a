import { viewerProcedure } from "../trpc";

/** The signed-in user and role, for the shell (nav, role-dependent controls). */
export const me = viewerProcedure.query(({ ctx }) => ({
  user: { id: ctx.user.id, email: ctx.user.email, name: ctx.user.name },
  role: ctx.user.role,
}));
