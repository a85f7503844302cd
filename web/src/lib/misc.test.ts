import { describe, expect, it } from "vitest";

import { areaPath, linePath, niceMax, pushSample, seriesPoints } from "./chart";
import { resolveApiBase } from "./config";
import { ago } from "./format";
import { readClaims } from "./jwt";
import { matchPath, queryString } from "./router";
import { shortages } from "./types";

describe("resolveApiBase", () => {
  it("uses the configured base without its trailing slash", () => {
    expect(resolveApiBase({ apiBase: "https://api.shop.example/" }, { protocol: "http:", hostname: "x" })).toBe("https://api.shop.example");
  });

  it("defaults to port 8080 on the page's own host name (same site for the refresh cookie)", () => {
    expect(resolveApiBase(undefined, { protocol: "http:", hostname: "127.0.0.1" })).toBe("http://127.0.0.1:8080");
    expect(resolveApiBase({ apiBase: "  " }, { protocol: "https:", hostname: "shop.local" })).toBe("https://shop.local:8080");
    expect(resolveApiBase({}, { protocol: "http:", hostname: "::1" })).toBe("http://[::1]:8080");
  });
});

describe("router helpers", () => {
  it("matches paths with parameters", () => {
    expect(matchPath("/products/:id", "/products/42")).toEqual({ id: "42" });
    expect(matchPath("/products/:id", "/products/42/x")).toBeNull();
    expect(matchPath("/orders", "/orders/")).toEqual({});
    expect(matchPath("/admin/:tab", "/admin/web%20hooks")).toEqual({ tab: "web hooks" });
  });

  it("builds query strings without empty values", () => {
    expect(queryString({ q: "red mug", category: "", offset: 0, sort: null })).toBe("?q=red+mug&offset=0");
    expect(queryString({})).toBe("");
  });
});

describe("error details", () => {
  it("reads out-of-stock details", () => {
    expect(shortages([{ product_id: 1, requested: 5, available: 2 }, { nope: 1 }])).toEqual([{ product_id: 1, requested: 5, available: 2 }]);
    expect(shortages({ product_ids: [1] })).toEqual([]);
  });
});

describe("chart arithmetic", () => {
  it("rounds axis maxima up to friendly numbers", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(8);
    expect(niceMax(730)).toBe(800);
    expect(niceMax(1000)).toBe(1000);
    expect(niceMax(1001)).toBe(1500);
  });

  it("lays a series across the box, highest value at the top", () => {
    const points = seriesPoints([0, 50, 100], 200, 100, 100);
    expect(points).toEqual([
      { x: 0, y: 100 },
      { x: 100, y: 50 },
      { x: 200, y: 0 },
    ]);
    expect(linePath(points)).toBe("M0.0,100.0 L100.0,50.0 L200.0,0.0");
    expect(areaPath(points, 100)).toBe("M0.0,100.0 L100.0,50.0 L200.0,0.0 L200.0,100 L0.0,100 Z");
    expect(areaPath([], 100)).toBe("");
  });

  it("keeps the newest samples", () => {
    expect(pushSample([1, 2, 3], 4, 3)).toEqual([2, 3, 4]);
  });
});

describe("small helpers", () => {
  it("reads a token's claims without verifying it", () => {
    const payload = btoa(JSON.stringify({ sub: "7", role: "admin", username: "root" })).replace(/=+$/, "");
    expect(readClaims(`h.${payload}.s`)).toMatchObject({ sub: "7", role: "admin" });
    expect(readClaims("garbage")).toBeNull();
    expect(readClaims("a.!!!.c")).toBeNull();
  });

  it("says how long ago", () => {
    expect(ago(0, 1000)).toBe("just now");
    expect(ago(0, 12_000)).toBe("12 s ago");
    expect(ago(0, 180_000)).toBe("3 min ago");
  });
});
