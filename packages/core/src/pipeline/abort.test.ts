import { once } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { LiteAbortController } from "./abort";

describe("LiteAbortSignal", () => {
  it("calls each listener once, in order, and not after removal", () => {
    const c = new LiteAbortController();
    const seen: string[] = [];
    const a = () => seen.push("a");
    const b = () => seen.push("b");
    const d = { handleEvent: () => seen.push("d") };
    c.signal.addEventListener("abort", a);
    c.signal.addEventListener("abort", b);
    c.signal.addEventListener("abort", d);
    c.signal.addEventListener("abort", b); // a duplicate is ignored
    c.signal.removeEventListener("abort", a);
    c.signal.onabort = () => seen.push("on");
    c.abort("why");
    c.abort("again");
    expect(seen).toEqual(["on", "b", "d"]);
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe("why");
    expect(() => c.signal.throwIfAborted()).toThrow();
  });

  it("gives an AbortError reason by default and ignores late listeners", () => {
    const c = new LiteAbortController();
    c.abort();
    expect((c.signal.reason as DOMException).name).toBe("AbortError");
    const late = vi.fn();
    c.signal.addEventListener("abort", late);
    expect(late).not.toHaveBeenCalled();
  });

  it("works with Node APIs that take a signal, and converts to a real one", async () => {
    const c = new LiteAbortController();
    const real = c.signal.toAbortSignal();
    expect(real).toBeInstanceOf(AbortSignal);
    const { EventEmitter } = await import("node:events");
    const waiting = once(new EventEmitter(), "never", { signal: c.signal });
    c.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow();
    expect(real.aborted).toBe(true);
  });
});
