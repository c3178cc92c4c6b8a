/** The server process's one auth instance, bound to the one store. */
import { env } from "~/env";
import { getStore } from "../db";
import { createAuth, type Auth } from "./auth";
import { resolveAuthSecret } from "./secret";

const holder = globalThis as typeof globalThis & { __rgAuth?: Auth };

export function getAuth(): Auth {
  if (!holder.__rgAuth) {
    const e = env();
    holder.__rgAuth = createAuth(getStore(), {
      secret: resolveAuthSecret(e.AUTH_SECRET, e.DATABASE_PATH),
      ...(e.AUTH_URL ? { baseURL: e.AUTH_URL } : {}),
      trustedOrigins: (e.AUTH_TRUSTED_ORIGINS ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
      trustedProxies: (e.AUTH_TRUSTED_PROXIES ?? "")
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean),
      rateLimit: {
        enabled: e.AUTH_RATE_LIMIT,
        signInMax: e.AUTH_SIGNIN_MAX,
        signInWindowS: e.AUTH_SIGNIN_WINDOW_S,
      },
    });
  }
  return holder.__rgAuth;
}

export type { Auth, AuthSession } from "./auth";
