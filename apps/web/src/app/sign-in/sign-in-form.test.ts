import { describe, expect, it } from "vitest";
import { signInError } from "./sign-in-form";

describe("signInError", () => {
  it("tells throttled users how long to wait", () => {
    expect(signInError(429, 42)).toBe("Too many sign-in attempts. Try again in 42 s.");
    expect(signInError(429, null)).toBe("Too many sign-in attempts. Try again shortly.");
  });
  it("does not say which of email or password was wrong", () => {
    expect(signInError(401)).toBe("Email or password is incorrect.");
    expect(signInError(500)).toMatch(/Sign-in failed/);
  });
});
