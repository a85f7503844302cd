import { describe, expect, it } from "vitest";

import { addLine, CART_KEY, CartStore, itemCount, MAX_QUANTITY, orderItems, parseCart, removeLine, setLineQuantity } from "./cart";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

describe("cart lines", () => {
  it("adds a new product and merges a repeated one", () => {
    let lines = addLine([], 7);
    lines = addLine(lines, 9, 2);
    lines = addLine(lines, 7, 3);
    expect(lines).toEqual([
      { productId: 7, quantity: 4 },
      { productId: 9, quantity: 2 },
    ]);
    expect(itemCount(lines)).toBe(6);
  });

  it("caps a quantity at the orders service's maximum", () => {
    expect(addLine([{ productId: 1, quantity: MAX_QUANTITY - 1 }], 1, 5)).toEqual([{ productId: 1, quantity: MAX_QUANTITY }]);
  });

  it("removes a line whose quantity drops to zero", () => {
    const lines = [{ productId: 1, quantity: 2 }];
    expect(setLineQuantity(lines, 1, 0)).toEqual([]);
    expect(setLineQuantity(lines, 1, 5)).toEqual([{ productId: 1, quantity: 5 }]);
    expect(removeLine(lines, 1)).toEqual([]);
  });

  it("turns into the order request's items", () => {
    expect(orderItems([{ productId: 3, quantity: 2 }])).toEqual([{ product_id: 3, quantity: 2 }]);
  });
});

describe("parseCart", () => {
  it.each([null, "", "not json", "{}", '"x"', "42"])("reads %j as an empty cart", (raw) => {
    expect(parseCart(raw)).toEqual([]);
  });

  it("drops bad entries and merges duplicates", () => {
    const raw = JSON.stringify([
      { productId: 1, quantity: 2 },
      { productId: -1, quantity: 2 },
      { productId: 2, quantity: 0 },
      { productId: 3.5, quantity: 1 },
      { productId: "4", quantity: 1 },
      null,
      { productId: 1, quantity: 1 },
    ]);
    expect(parseCart(raw)).toEqual([{ productId: 1, quantity: 3 }]);
  });
});

describe("CartStore", () => {
  it("keeps the cart across a reload (a new store on the same storage)", () => {
    const storage = new MemoryStorage();
    const first = new CartStore(storage);
    first.add(5, 2);
    first.add(8);
    const second = new CartStore(storage);
    expect(second.getSnapshot()).toEqual([
      { productId: 5, quantity: 2 },
      { productId: 8, quantity: 1 },
    ]);
  });

  it("stores only ids and quantities", () => {
    const storage = new MemoryStorage();
    new CartStore(storage).add(5, 2);
    expect(JSON.parse(storage.getItem(CART_KEY) ?? "")).toEqual([{ productId: 5, quantity: 2 }]);
  });

  it("notifies subscribers and gives a new snapshot only on a change", () => {
    const store = new CartStore(new MemoryStorage());
    let calls = 0;
    const unsubscribe = store.subscribe(() => calls++);
    const before = store.getSnapshot();
    expect(store.getSnapshot()).toBe(before);
    store.add(1);
    expect(calls).toBe(1);
    expect(store.getSnapshot()).not.toBe(before);
    unsubscribe();
    store.clear();
    expect(calls).toBe(1);
  });

  it("clearing removes the stored cart", () => {
    const storage = new MemoryStorage();
    const store = new CartStore(storage);
    store.add(1);
    store.clear();
    expect(storage.getItem(CART_KEY)).toBeNull();
  });

  it("works in memory when storage throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
      removeItem: () => undefined,
    };
    const store = new CartStore(broken);
    store.add(2, 3);
    expect(store.getSnapshot()).toEqual([{ productId: 2, quantity: 3 }]);
  });

  it("picks up another tab's change on reload()", () => {
    const storage = new MemoryStorage();
    const store = new CartStore(storage);
    storage.setItem(CART_KEY, JSON.stringify([{ productId: 4, quantity: 1 }]));
    store.reload();
    expect(store.getSnapshot()).toEqual([{ productId: 4, quantity: 1 }]);
  });
});
