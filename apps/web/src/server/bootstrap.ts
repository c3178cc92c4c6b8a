import { env } from "~/env";
import { getAuth } from "./auth";
import { ensureInitialAdmin } from "./auth/seed";
import { getStore } from "./db";

export async function bootstrapServer(): Promise<void> {
  const e = env();
  const store = getStore();
  const admin = await ensureInitialAdmin(store, getAuth(), {
    ...(e.ADMIN_EMAIL ? { email: e.ADMIN_EMAIL } : {}),
    ...(e.ADMIN_PASSWORD ? { password: e.ADMIN_PASSWORD } : {}),
  });
  if (admin?.generatedPassword) {
    // Shown once: the password is not stored anywhere in clear text.
    console.log(
      `\n  First start: created admin ${admin.email} with one-time password ${admin.generatedPassword}\n` +
        "  Sign in and create named users; set ADMIN_EMAIL and ADMIN_PASSWORD to choose them.\n",
    );
  } else if (admin) {
    console.log(`First start: created admin ${admin.email}`);
  }
}
