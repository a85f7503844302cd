import { describe, expect, it } from "vitest";

import { nextState } from "../hooks/auth";
import type { Product } from "../lib/types";
import { productBody } from "./AdminProducts";
import { liveState } from "./Orders";
import { toForm, toInput } from "./Profile";
import { safeNext } from "./SignIn";

describe("safeNext", () => {
  it("keeps paths inside the app and refuses anything else", () => {
    expect(safeNext("/orders")).toBe("/orders");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});

describe("profile form", () => {
  it("sends blanks as null and interests as a clean list", () => {
    const input = toInput({ ...toForm(null), name: " Ann ", email: "a@b.co", city: "  ", interests: "tea, , hiking,tea" });
    expect(input).toEqual({
      name: "Ann",
      email: "a@b.co",
      address: null,
      city: null,
      mobile: null,
      location: null,
      interests: ["tea", "hiking"],
    });
  });
});

describe("productBody", () => {
  const form = {
    name: " Mug ",
    price: "9.50",
    stock: "4",
    category: "",
    brand: "Acme",
    sku: "",
    image: "",
    description: "d",
    active: true,
  };

  it("builds a new product from the form", () => {
    expect(productBody(form, 9.5, null)).toEqual({
      name: "Mug",
      description: "d",
      price: 9.5,
      stock_quantity: 4,
      category: null,
      brand: "Acme",
      sku: null,
      images: [],
      is_active: true,
    });
  });

  it("keeps the fields the form does not show when replacing a product", () => {
    const existing = {
      currency: "EUR",
      model: "M1",
      origin: "Portugal",
      tags: ["a"],
      specifications: ["size: L"],
      additional_info: "i",
      rating: 4.5,
      rating_count: 3,
      images: ["http://x/1.png", "http://x/2.png"],
    } as unknown as Product;
    const body = productBody({ ...form, image: "http://x/new.png" }, 9.5, existing);
    expect(body).toMatchObject({
      currency: "EUR",
      model: "M1",
      origin: "Portugal",
      tags: ["a"],
      specifications: ["size: L"],
      rating: 4.5,
      images: ["http://x/new.png", "http://x/2.png"],
    });
  });
});

describe("the orders' live badge", () => {
  it("says Live only when changes can arrive and the list is current", () => {
    expect(liveState("open", true, false)).toBe("open");
    expect(liveState("open", true, true)).toBe("stale");
    expect(liveState("open", false, false)).toBe("offline");
    expect(liveState("reconnecting", true, true)).toBe("reconnecting");
    expect(liveState("connecting", false, true)).toBe("offline");
  });
});

describe("the session's next state", () => {
  const ada = { id: 1, username: "ada", role: "user", token: "t" };
  const signedIn = { session: ada, ended: false, lastUsername: "ada" };

  it("marks a session the server ended, keeping who it was", () => {
    expect(nextState(signedIn, null, "ended")).toEqual({ session: null, ended: true, lastUsername: "ada" });
  });

  it("does not call a sign-out an ended session, and a new sign-in clears it", () => {
    const ended = nextState(signedIn, null, "ended");
    expect(nextState(signedIn, null, "signed-out").ended).toBe(false);
    expect(nextState(ended, null, "signed-out").ended).toBe(false);
    expect(nextState(ended, ada, "signed-in")).toEqual(signedIn);
    // Another tab failing a refresh with no session keeps the panel up.
    expect(nextState(ended, null, "ended").ended).toBe(true);
  });
});
