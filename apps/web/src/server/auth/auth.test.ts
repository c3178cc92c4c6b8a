import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, TEST_ORIGIN, type TestEnv } from "../testing/harness";

function signInRequest(email: string, password: string, ip = "203.0.113.7"): Request {
  return new Request(`${TEST_ORIGIN}/api/auth/sign-in/email`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: TEST_ORIGIN,
      "x-forwarded-for": ip,
    },
    body: JSON.stringify({ email, password }),
  });
}

function sessionCookie(res: Response): string {
  const cookies = res.headers.getSetCookie();
  const token = cookies.find((c) => c.startsWith("better-auth.session_token="));
  if (!token) throw new Error(`no session cookie in ${JSON.stringify(cookies)}`);
  return token.split(";")[0]!;
}

describe("auth", () => {
  let env: TestEnv;
  afterEach(() => env?.close());

  it("signs in with email + password and sets an HttpOnly, SameSite=Lax session cookie", async () => {
    env = await createTestEnv();
    const res = await env.auth.handler(
      signInRequest(env.users.viewer.email, env.users.viewer.password),
    );
    expect(res.status).toBe(200);
    const raw = res.headers.getSetCookie().find((c) => c.startsWith("better-auth.session_token="));
    expect(raw).toBeDefined();
    expect(raw).toMatch(/HttpOnly/i);
    expect(raw).toMatch(/SameSite=Lax/i);
    // Served over http in this test: no Secure flag (it is set when the base URL is https).
    expect(raw).not.toMatch(/;\s*Secure/i);

    const session = await env.auth.api.getSession({
      headers: new Headers({ cookie: sessionCookie(res) }),
    });
    expect(session?.user.email).toBe(env.users.viewer.email);
    expect(session?.user.role).toBe("viewer");
  });

  it("refuses a wrong password and public sign-up", async () => {
    env = await createTestEnv();
    const bad = await env.auth.handler(signInRequest(env.users.viewer.email, "wrong-password-1"));
    expect(bad.status).toBe(401);
    const signUp = await env.auth.handler(
      new Request(`${TEST_ORIGIN}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: TEST_ORIGIN },
        body: JSON.stringify({ email: "x@example.test", password: "password-1234", name: "x" }),
      }),
    );
    expect(signUp.ok).toBe(false);
  });

  it("marks cookies Secure when served over https", async () => {
    const { createAuth } = await import("./auth");
    env = await createTestEnv();
    const httpsAuth = createAuth(env.store, {
      secret: "test-secret-test-secret-test-secret-0123",
      baseURL: "https://ops.example.test",
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const res = await httpsAuth.handler(
      new Request("https://ops.example.test/api/auth/sign-in/email", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://ops.example.test" },
        body: JSON.stringify({ email: env.users.admin.email, password: env.users.admin.password }),
      }),
    );
    expect(res.status).toBe(200);
    const raw = res.headers.getSetCookie().find((c) => c.includes("session_token="));
    expect(raw).toMatch(/^__Secure-/);
    expect(raw).toMatch(/;\s*Secure/i);
  });

  it("without a configured URL, trusts the request's own host and refuses other origins", async () => {
    const { createAuth } = await import("./auth");
    env = await createTestEnv();
    const auth = createAuth(env.store, {
      secret: "test-secret-test-secret-test-secret-0123",
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const attempt = (origin: string) =>
      auth.handler(
        new Request("http://127.0.0.1:3917/api/auth/sign-in/email", {
          method: "POST",
          headers: { "content-type": "application/json", host: "127.0.0.1:3917", origin },
          body: JSON.stringify({
            email: env.users.viewer.email,
            password: env.users.viewer.password,
          }),
        }),
      );
    expect((await attempt("https://evil.example")).status).toBe(403);
    expect((await attempt("http://127.0.0.1:3918")).status).toBe(403);
    expect((await attempt("http://127.0.0.1:3917")).status).toBe(200);
  });

  it("throttles sign-in per account, whatever X-Forwarded-For says", async () => {
    env = await createTestEnv({ rateLimit: { enabled: true, signInMax: 3, signInWindowS: 60 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await env.auth.handler(
        signInRequest(env.users.viewer.email, "wrong-password-1", `198.51.100.${i + 1}`),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // Even the right password is refused while throttled, from any address and spelling…
    const right = await env.auth.handler(
      signInRequest(env.users.viewer.email.toUpperCase(), env.users.viewer.password, "192.0.2.9"),
    );
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("x-retry-after"))).toBeGreaterThan(0);
    // …while another account is not affected.
    const other = await env.auth.handler(
      signInRequest(env.users.operator.email, env.users.operator.password, "198.51.100.1"),
    );
    expect(other.status).toBe(200);
  });

  it("counts concurrent guesses at one account before any of them fails", async () => {
    env = await createTestEnv({ rateLimit: { enabled: true, signInMax: 3, signInWindowS: 60 } });
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        env.auth
          .handler(signInRequest(env.users.admin.email, `guess-${i}-xxxx`, `192.0.2.${i + 20}`))
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });

  it("lets the account sign in again once the window has passed; a sign-in forgets earlier failures", async () => {
    const { createAuth } = await import("./auth");
    env = await createTestEnv();
    let now = 1_800_000_000_000;
    const auth = createAuth(env.store, {
      secret: "test-secret-test-secret-test-secret-0123",
      baseURL: TEST_ORIGIN,
      rateLimit: { enabled: true, signInMax: 3, signInWindowS: 60 },
      now: () => now,
    });
    const attempt = async (password: string) =>
      (await auth.handler(signInRequest(env.users.viewer.email, password))).status;
    expect([await attempt("wrong-password-1"), await attempt("wrong-password-1")]).toEqual([
      401, 401,
    ]);
    expect(await attempt(env.users.viewer.password)).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(await attempt("wrong-password-1"));
      now += 10_000;
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The first of the three counted attempts leaves the window 60 s after it was made.
    now = 1_800_000_000_000 + 59_999;
    const waiting = await auth.handler(
      signInRequest(env.users.viewer.email, env.users.viewer.password),
    );
    expect(waiting.status).toBe(429);
    expect(waiting.headers.get("x-retry-after")).toBe("1");
    now = 1_800_000_000_000 + 60_000;
    expect(await attempt(env.users.viewer.password)).toBe(200);
  });

  it("behind trusted proxies, throttles per client address: the X-Forwarded-For entry they appended", async () => {
    const { createAuth } = await import("./auth");
    env = await createTestEnv();
    const auth = createAuth(env.store, {
      secret: "test-secret-test-secret-test-secret-0123",
      baseURL: TEST_ORIGIN,
      rateLimit: { enabled: true, signInMax: 3, signInWindowS: 60 },
      trustedProxies: ["10.1.0.0/16"],
    });
    // One client (203.0.113.50) tries a different account each time and makes up the
    // left-hand entries; the proxies appended its real address and their own.
    const emails = ["a@example.test", "b@example.test", "c@example.test", "d@example.test"];
    const statuses: number[] = [];
    for (const [i, email] of emails.entries()) {
      const xff = `10.77.0.${i}, 203.0.113.50, 10.1.0.2`;
      statuses.push((await auth.handler(signInRequest(email, "wrong-password-1", xff))).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const other = await auth.handler(
      signInRequest(env.users.viewer.email, env.users.viewer.password, "203.0.113.51, 10.1.0.2"),
    );
    expect(other.status).toBe(200);
  });

  it("does not serve the admin plugin's endpoints or account changes over HTTP", async () => {
    env = await createTestEnv();
    const admin = sessionCookie(
      await env.auth.handler(signInRequest(env.users.admin.email, env.users.admin.password)),
    );
    const post = (path: string, body: unknown) =>
      env.auth.handler(
        new Request(`${TEST_ORIGIN}/api/auth${path}`, {
          method: "POST",
          headers: { cookie: admin, origin: TEST_ORIGIN, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    expect(
      (await post("/admin/set-role", { userId: env.users.viewer.id, role: "admin" })).status,
    ).toBe(404);
    expect((await post("/admin/impersonate-user", { userId: env.users.viewer.id })).status).toBe(
      404,
    );
    expect((await post("/change-email", { newEmail: "x@example.test" })).status).toBe(404);
    const viewer = await env.auth.api.getSession({
      headers: new Headers({
        cookie: sessionCookie(
          await env.auth.handler(signInRequest(env.users.viewer.email, env.users.viewer.password)),
        ),
      }),
    });
    expect(viewer?.user.role).toBe("viewer");
  });

  it("ends the session at sign-out", async () => {
    env = await createTestEnv();
    const res = await env.auth.handler(
      signInRequest(env.users.operator.email, env.users.operator.password),
    );
    const cookie = sessionCookie(res);
    const out = await env.auth.handler(
      new Request(`${TEST_ORIGIN}/api/auth/sign-out`, {
        method: "POST",
        headers: { cookie, origin: TEST_ORIGIN, "content-type": "application/json" },
        body: "{}",
      }),
    );
    expect(out.status).toBe(200);
    expect(await env.auth.api.getSession({ headers: new Headers({ cookie }) })).toBeNull();
  });

  it("revokes every session of a user whose role an admin changes", async () => {
    env = await createTestEnv();
    const a = sessionCookie(
      await env.auth.handler(signInRequest(env.users.operator.email, env.users.operator.password)),
    );
    const b = sessionCookie(
      await env.auth.handler(signInRequest(env.users.operator.email, env.users.operator.password)),
    );
    const admin = sessionCookie(
      await env.auth.handler(signInRequest(env.users.admin.email, env.users.admin.password)),
    );
    for (const cookie of [a, b]) {
      expect(await env.auth.api.getSession({ headers: new Headers({ cookie }) })).not.toBeNull();
    }

    await env.caller("admin").users.setRole({ userId: env.users.operator.id, role: "viewer" });

    for (const cookie of [a, b]) {
      expect(await env.auth.api.getSession({ headers: new Headers({ cookie }) })).toBeNull();
    }
    // Other users keep theirs.
    expect(
      await env.auth.api.getSession({ headers: new Headers({ cookie: admin }) }),
    ).not.toBeNull();
    // Signing in again yields the new role.
    const again = sessionCookie(
      await env.auth.handler(signInRequest(env.users.operator.email, env.users.operator.password)),
    );
    const s = await env.auth.api.getSession({ headers: new Headers({ cookie: again }) });
    expect(s?.user.role).toBe("viewer");
  });
});
