/**
 * better-auth: email + password sign-in, sessions in SQLite through the drizzle adapter, roles
 * through the admin plugin. Public sign-up is off: users are created by admins (or the first
 * start), never by strangers.
 */
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError, createAuthMiddleware, isAPIError } from "better-auth/api";
import { admin } from "better-auth/plugins/admin";
import * as schema from "@rg/db/schema";
import type { Store } from "@rg/db";
import { canonicalEmail } from "./email";
import { accessControl, authRoles } from "./roles";
import { createSignInThrottle } from "./sign-in-throttle";

export interface AuthOptions {
  secret: string;
  /** Public origin; when absent it is taken from the request and cookies are not Secure. */
  baseURL?: string;
  trustedOrigins?: string[];
  /**
   * Sign-in throttling: `signInMax` attempts per `signInWindowS` per account, and per client
   * address when the address can be trusted (see trustedProxies).
   */
  rateLimit: { enabled: boolean; signInMax: number; signInWindowS: number };
  /**
   * Addresses or CIDR ranges of the reverse proxies in front of the dashboard, which append
   * the client's address to X-Forwarded-For. The client address is then the rightmost entry
   * that is not one of them. Without it X-Forwarded-For is ignored: a client sets it to
   * anything, and Next keeps a value the client sent, so keying on it would let every guess
   * come from a new address. (A Next route handler is not given the socket address.)
   */
  trustedProxies?: readonly string[];
  /** Wall clock (ms) of the per-account throttle, injectable for tests. */
  now?: () => number;
}

export const SESSION_TTL_S = 12 * 3600;

/**
 * better-auth endpoints not served over HTTP. User management goes through the dashboard's
 * admin procedures, which audit every change and end sessions on a role change; the admin
 * plugin's own endpoints (set-role, impersonation, bans...) would bypass both. Addresses are
 * the audit identity, so they do not change either.
 */
export const DISABLED_AUTH_PATHS = [
  "/sign-up/email",
  "/change-email",
  "/update-user",
  "/delete-user",
  ...[
    "ban-user",
    "create-user",
    "get-user",
    "has-permission",
    "impersonate-user",
    "list-user-sessions",
    "list-users",
    "remove-user",
    "revoke-user-session",
    "revoke-user-sessions",
    "set-role",
    "set-user-password",
    "stop-impersonating",
    "unban-user",
    "update-user",
  ].map((p) => `/admin/${p}`),
];

function sameHostOrigins(request: Request | undefined): string[] {
  const host = request?.headers.get("host");
  if (!host || !/^[A-Za-z0-9.\-\[\]:]+$/.test(host)) return [];
  return [`http://${host}`, `https://${host}`];
}

const SIGN_IN = "/sign-in/email";

export function createAuth(store: Store, opts: AuthOptions) {
  const secure = opts.baseURL ? opts.baseURL.startsWith("https://") : false;
  const throttle = { window: opts.rateLimit.signInWindowS, max: opts.rateLimit.signInMax };
  const proxies = [...(opts.trustedProxies ?? [])];
  const perAccount = opts.rateLimit.enabled
    ? createSignInThrottle({
        max: opts.rateLimit.signInMax,
        windowS: opts.rateLimit.signInWindowS,
        now: opts.now ?? Date.now,
      })
    : null;
  return betterAuth({
    appName: "Resilience Gateway",
    secret: opts.secret,
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    // Same-origin requests are trusted whatever the host is called (127.0.0.1, a LAN name,
    // the gateway in front): a browser sends the page's own origin, which matches the Host it
    // requested. A cross-site page's Origin never matches, so its POSTs are refused.
    trustedOrigins: (request?: Request) => [
      ...(opts.trustedOrigins ?? []),
      ...sameHostOrigins(request),
    ],
    database: drizzleAdapter(store.db, {
      provider: "sqlite",
      schema: {
        user: schema.user,
        session: schema.session,
        account: schema.account,
        verification: schema.verification,
      },
    }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: 8,
      maxPasswordLength: 256,
    },
    session: {
      expiresIn: SESSION_TTL_S,
      updateAge: 3600,
      // No cookie cache: a revoked session must stop working on the very next request.
      cookieCache: { enabled: false },
    },
    rateLimit: {
      enabled: opts.rateLimit.enabled,
      storage: "memory",
      window: 60,
      max: 600,
      customRules: {
        // Reading one's own session is what every page does; throttling it protects nothing.
        "/get-session": false,
        "/sign-in/email": throttle,
        "/sign-in/*": throttle,
      },
    },
    advanced: {
      // Behind trusted proxies: the rightmost X-Forwarded-For entry that is not one of them.
      // Otherwise no address is trustworthy, so none is used: the per-address throttle is off
      // and sign-in is throttled per account only (below).
      ipAddress:
        proxies.length > 0
          ? { ipAddressHeaders: ["x-forwarded-for"], trustedProxies: proxies }
          : { disableIpTracking: true },
      // Explicit, so the origin and CSRF checks also run under test runners (better-auth
      // turns them off by default when NODE_ENV is "test").
      disableOriginCheck: false,
      disableCSRFCheck: false,
      useSecureCookies: secure,
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", secure },
    },
    telemetry: { enabled: false },
    disabledPaths: DISABLED_AUTH_PATHS,
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== SIGN_IN) return;
        const body = ctx.body as { email?: unknown } | undefined;
        if (typeof body?.email !== "string") return;
        const email = canonicalEmail(body.email);
        const decision = perAccount?.attempt(email) ?? { ok: true };
        if (!decision.ok) {
          throw new APIError(
            "TOO_MANY_REQUESTS",
            { message: "Too many requests. Please try again later." },
            { "X-Retry-After": String(decision.retryAfterS) },
          );
        }
        if (email === body.email) return;
        return { context: { body: { ...body, email } } };
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== SIGN_IN || !perAccount) return;
        const email = (ctx.body as { email?: unknown } | undefined)?.email;
        if (typeof email !== "string") return;
        const returned = ctx.context.returned;
        if (returned !== undefined && !isAPIError(returned) && ctx.context.newSession) {
          perAccount.succeeded(canonicalEmail(email));
        }
      }),
    },
    plugins: [
      admin({
        ac: accessControl,
        roles: authRoles,
        defaultRole: "viewer",
        adminRoles: ["admin"],
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
export type AuthSession = NonNullable<Awaited<ReturnType<Auth["api"]["getSession"]>>>;
