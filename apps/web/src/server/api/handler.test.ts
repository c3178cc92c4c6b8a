/** The tRPC HTTP endpoint end to end: guard, session from cookies, JSON-only same-origin POSTs. */
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, TEST_ORIGIN, type TestEnv } from "../testing/harness";
import { createTrpcHandler, kindOf } from "./handler";
import { guardTrpcRequest, MAX_BODY_BYTES } from "./http-guard";

const HOST = new URL(TEST_ORIGIN).host;

describe("guardTrpcRequest", () => {
  const opts = { endpoint: "/api/trpc", kindOf };
  const req = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Request(`${TEST_ORIGIN}/api/trpc/${path}`, {
      method,
      headers: { host: HOST, ...headers },
      ...(method === "POST" ? { body: "{}" } : {}),
    });

  it("lets same-origin JSON mutations and GET queries through", () => {
    expect(
      guardTrpcRequest(
        req("POST", "controls.setMode", {
          "content-type": "application/json",
          origin: TEST_ORIGIN,
        }),
        opts,
      ),
    ).toBeNull();
    expect(guardTrpcRequest(req("GET", "overview.get,me"), opts)).toBeNull();
  });

  it("refuses a mutation sent with GET, even inside a batch", () => {
    expect(guardTrpcRequest(req("GET", "controls.setMode"), opts)?.status).toBe(405);
    expect(guardTrpcRequest(req("GET", "me,users.remove"), opts)?.status).toBe(405);
  });

  it("refuses methods other than GET and POST", () => {
    for (const m of ["PUT", "PATCH", "DELETE"]) {
      expect(guardTrpcRequest(req(m, "me"), opts)?.status).toBe(405);
    }
  });

  it("refuses non-JSON POST bodies (what a cross-site form can send)", () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      const r = req("POST", "controls.setMode", { "content-type": type, origin: TEST_ORIGIN });
      expect(guardTrpcRequest(r, opts)?.status).toBe(415);
    }
    expect(
      guardTrpcRequest(req("POST", "controls.setMode", { origin: TEST_ORIGIN }), opts)?.status,
    ).toBe(415);
  });

  it("refuses POSTs from another origin, a null origin, or without any origin signal", () => {
    const json = { "content-type": "application/json" };
    const cases: Record<string, string>[] = [
      { ...json, origin: "https://evil.example" },
      { ...json, origin: "http://localhost:3001" },
      { ...json, origin: "null" },
      { ...json },
      { ...json, "sec-fetch-site": "same-site" },
    ];
    for (const headers of cases) {
      expect(
        guardTrpcRequest(req("POST", "controls.setMode", headers), opts)?.status,
        JSON.stringify(headers),
      ).toBe(403);
    }
  });

  it("accepts Sec-Fetch-Site: same-origin without Origin, and trusted origins", () => {
    const json = { "content-type": "application/json" };
    expect(
      guardTrpcRequest(
        req("POST", "controls.setMode", { ...json, "sec-fetch-site": "same-origin" }),
        opts,
      ),
    ).toBeNull();
    expect(
      guardTrpcRequest(
        req("POST", "controls.setMode", { ...json, origin: "https://ops.example" }),
        {
          ...opts,
          trustedOrigins: ["https://ops.example"],
        },
      ),
    ).toBeNull();
  });

  it("refuses oversized bodies before reading them", () => {
    const headers = {
      "content-type": "application/json",
      origin: TEST_ORIGIN,
      "content-length": String(3 * 1024 * 1024),
    };
    expect(guardTrpcRequest(req("POST", "controls.setValue", headers), opts)?.status).toBe(413);
  });

  it("refuses a path with a malformed % escape with 400, not an exception", async () => {
    const json = { "content-type": "application/json", origin: TEST_ORIGIN };
    for (const path of ["me%", "me%zz", "controls.setMode%E0%A4%A", "%C0%AF"]) {
      for (const r of [req("GET", path), req("POST", path, json)]) {
        const res = guardTrpcRequest(r, opts);
        expect(res?.status, `${r.method} ${path}`).toBe(400);
        expect(res?.headers.get("content-type")).toBe("application/problem+json");
        expect(await res?.json()).toMatchObject({ status: 400, title: "Malformed procedure path" });
      }
    }
  });

  it("refuses any cross-site fetch, reads included", () => {
    expect(
      guardTrpcRequest(req("GET", "overview.get", { "sec-fetch-site": "cross-site" }), opts)
        ?.status,
    ).toBe(403);
  });
});

describe("tRPC route handler", () => {
  let env: TestEnv;
  let cookie: string;
  let handler: (req: Request) => Promise<Response>;

  beforeAll(async () => {
    env = await createTestEnv();
    handler = createTrpcHandler({ store: () => env.store, auth: () => env.auth });
    const res = await env.auth.handler(
      new Request(`${TEST_ORIGIN}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: TEST_ORIGIN },
        body: JSON.stringify({
          email: env.users.operator.email,
          password: env.users.operator.password,
        }),
      }),
    );
    cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith("better-auth.session_token="))!
      .split(";")[0]!;
  });
  afterAll(() => env.close());

  const mutation = (headers: Record<string, string>, body: unknown) =>
    handler(
      new Request(`${TEST_ORIGIN}/api/trpc/controls.setMode`, {
        method: "POST",
        headers: { host: HOST, ...headers },
        body: JSON.stringify(superjson.serialize(body)),
      }),
    );

  it("answers a query for a signed-in user and refuses an anonymous one", async () => {
    const ok = await handler(
      new Request(`${TEST_ORIGIN}/api/trpc/me`, { headers: { host: HOST, cookie } }),
    );
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { result: { data: { json: { role: string } } } };
    expect(body.result.data.json.role).toBe("operator");

    const anon = await handler(
      new Request(`${TEST_ORIGIN}/api/trpc/me`, { headers: { host: HOST } }),
    );
    expect(anon.status).toBe(401);
  });

  it("applies a same-origin JSON mutation with the session's identity", async () => {
    const res = await mutation(
      { cookie, origin: TEST_ORIGIN, "content-type": "application/json", "x-request-id": "req-42" },
      { scope: "gateway", mode: "degraded", reason: "shed load" },
    );
    expect(res.status).toBe(200);
    const cfg = await env.caller("viewer").config.get();
    expect(cfg.config?.gateway.mode).toBe("degraded");
    const audit = await env.caller("viewer").audit.list({ action: "mode.set" });
    expect(audit.rows[0]).toMatchObject({
      actor: env.users.operator.email,
      role: "operator",
      requestId: "req-42",
      reason: "shed load",
    });
  });

  /** A POST whose body is a stream of 64 KiB chunks (sent chunked: no Content-Length). */
  function streamed(path: string, text: string, pulled: { bytes: number }) {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (offset >= bytes.length) return c.close();
        const chunk = bytes.subarray(offset, offset + 65536);
        offset += chunk.length;
        pulled.bytes += chunk.length;
        c.enqueue(chunk);
      },
    });
    return new Request(`${TEST_ORIGIN}/api/trpc/${path}`, {
      method: "POST",
      headers: { cookie, host: HOST, origin: TEST_ORIGIN, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
  }

  it("refuses a chunked body over the limit with 413 after reading at most the limit", async () => {
    const before = (await env.caller("viewer").config.get()).revision;
    const input = {
      path: "routes.payments.retry.maxAttempts",
      value: 2,
      reason: "x".repeat(3 * 1024 * 1024),
    };
    const pulled = { bytes: 0 };
    const res = await handler(
      streamed("controls.setValue", JSON.stringify(superjson.serialize(input)), pulled),
    );
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(pulled.bytes).toBeLessThanOrEqual(MAX_BODY_BYTES + 65536);
    expect((await env.caller("viewer").config.get()).revision).toBe(before);
  });

  it("applies a chunked mutation under the limit", async () => {
    const pulled = { bytes: 0 };
    const input = { scope: "gateway", mode: "normal", reason: "chunked" };
    const res = await handler(
      streamed("controls.setMode", JSON.stringify(superjson.serialize(input)), pulled),
    );
    expect(res.status).toBe(200);
    const audit = await env.caller("viewer").audit.list({ action: "mode.set" });
    expect(audit.rows[0]).toMatchObject({ reason: "chunked" });
  });

  it("changes nothing on a cross-origin or form-encoded mutation, even with a valid cookie", async () => {
    const before = (await env.caller("viewer").config.get()).revision;
    const cross = await mutation(
      { cookie, origin: "https://evil.example", "content-type": "application/json" },
      { scope: "gateway", mode: "read_only", reason: "csrf" },
    );
    expect(cross.status).toBe(403);
    const form = await mutation(
      { cookie, origin: TEST_ORIGIN, "content-type": "text/plain" },
      { scope: "gateway", mode: "read_only", reason: "csrf" },
    );
    expect(form.status).toBe(415);
    const viaGet = await handler(
      new Request(
        `${TEST_ORIGIN}/api/trpc/controls.setMode?input=${encodeURIComponent(
          JSON.stringify(
            superjson.serialize({ scope: "gateway", mode: "read_only", reason: "csrf" }),
          ),
        )}`,
        { headers: { host: HOST, cookie } },
      ),
    );
    expect(viaGet.status).toBe(405);
    expect((await env.caller("viewer").config.get()).revision).toBe(before);
  });
});
