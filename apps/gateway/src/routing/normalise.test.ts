import { describe, expect, it } from "vitest";
import { needsNormalising, normalisePath } from "./normalise";

describe("normalisePath", () => {
  it("merges slashes, decodes unreserved escapes and upper-cases the others, query untouched", () => {
    const cases: [string, string][] = [
      ["//a///b//", "/a/b/"],
      ["/api/%6cogin", "/api/login"],
      ["/%41%5a%61%7a%30%39%2d%2e%5f%7e", "/AZaz09-._~"],
      ["/caf%c3%a9/%3b%20", "/caf%C3%A9/%3B%20"],
      ["/a//b?x=//y&z=%2f%zz%6c", "/a/b?x=//y&z=%2f%zz%6c"],
      ["/a/b;c=d;e", "/a/b;c=d;e"],
      ["/a/;x", "/a/;x"],
    ];
    for (const [from, to] of cases)
      expect(normalisePath(from), from).toEqual({ ok: true, path: to });
  });

  it("refuses encoded separators, malformed escapes, and parameters where upstreams differ", () => {
    const cases: [string, RegExp][] = [
      ["/a%2Fb", /encoded '\/'/],
      ["/a%2fb", /encoded '\/'/],
      ["/a%5Cb", /encoded '\/'/],
      ["/a%5cb", /encoded '\/'/],
      ["/a%zz", /two hex digits/],
      ["/a%4", /two hex digits/],
      ["/a%", /two hex digits/],
      ["/a/..;x/b", /'\.\.' segment with parameters/],
      ["/a/.;/b", /segment with parameters/],
      ["/a/..;", /segment with parameters/],
      ["/a;x/b", /last segment/],
      ["/a/b;x/", /last segment/],
    ];
    for (const [path, why] of cases) {
      const n = normalisePath(path);
      expect(n.ok, path).toBe(false);
      if (!n.ok) expect(n.detail, path).toMatch(why);
    }
  });

  it("is needed only for a path with '%', '//' or ';' before its query", () => {
    for (const p of ["/a%41", "/a//b", "//", "/a;b"]) expect(needsNormalising(p), p).toBe(true);
    for (const p of ["/", "/a/b/", "/a/b?c=%2f//;", "/a.b~c"])
      expect(needsNormalising(p), p).toBe(false);
  });
});
