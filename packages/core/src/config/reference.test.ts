import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderConfigReference } from "./reference";

describe("config reference", () => {
  const rendered = renderConfigReference();

  it("documents nested keys with their defaults and ranges", () => {
    expect(rendered).toContain(
      "| `routes.<id>.retry.maxAttempts` | integer | `3` | 1–10 | Total attempts including the first (1 = no retry). |",
    );
    expect(rendered).toContain("`upstreams.<id>.circuitBreaker.window{type=count}.size`");
    expect(rendered).toMatch(/\| `routes\.<id>\.upstream` \* \|/);
  });

  it("matches the committed docs/config-reference.md (run npm run config-reference -w @rg/core)", () => {
    const committed = readFileSync(
      join(import.meta.dirname, "../../../../docs/config-reference.md"),
      "utf8",
    );
    expect(committed).toBe(rendered);
  });
});
