/**
 * better-auth in the browser: `signIn.email({ email, password })`, `signOut()`,
 * `useSession()`. Same-origin, so no base URL is needed.
 */
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient();

export const { signIn, signOut, useSession } = authClient;
