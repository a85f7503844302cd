/**
 * The cart: product ids and quantities only (prices and names are always read
 * fresh from the catalogue), kept in localStorage so it survives reloads.
 */

export interface CartLine {
  productId: number;
  quantity: number;
}

export const MAX_QUANTITY = 1000;
export const MAX_LINES = 50;
export const CART_KEY = "shopmesh.cart.v1";

type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

function isLine(value: unknown): value is CartLine {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const line = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(line.productId) &&
    (line.productId as number) > 0 &&
    Number.isSafeInteger(line.quantity) &&
    (line.quantity as number) > 0
  );
}

function clampQuantity(quantity: number): number {
  return Math.min(MAX_QUANTITY, Math.max(1, Math.floor(quantity)));
}

/** Whatever is stored, as valid lines (bad JSON or bad entries are dropped, duplicates merged). */
export function parseCart(raw: string | null): CartLine[] {
  if (!raw) {
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) {
    return [];
  }
  let lines: CartLine[] = [];
  for (const entry of parsed) {
    if (isLine(entry)) {
      lines = addLine(lines, entry.productId, entry.quantity);
    }
  }
  return lines.slice(0, MAX_LINES);
}

export function addLine(lines: readonly CartLine[], productId: number, quantity = 1): CartLine[] {
  const existing = lines.find((line) => line.productId === productId);
  if (existing) {
    return lines.map((line) =>
      line.productId === productId ? { productId, quantity: clampQuantity(line.quantity + quantity) } : line,
    );
  }
  if (lines.length >= MAX_LINES) {
    return [...lines];
  }
  return [...lines, { productId, quantity: clampQuantity(quantity) }];
}

/** A quantity of 0 or less removes the line. */
export function setLineQuantity(lines: readonly CartLine[], productId: number, quantity: number): CartLine[] {
  if (quantity <= 0 || !Number.isFinite(quantity)) {
    return removeLine(lines, productId);
  }
  return lines.map((line) => (line.productId === productId ? { productId, quantity: clampQuantity(quantity) } : line));
}

export function removeLine(lines: readonly CartLine[], productId: number): CartLine[] {
  return lines.filter((line) => line.productId !== productId);
}

export function itemCount(lines: readonly CartLine[]): number {
  return lines.reduce((sum, line) => sum + line.quantity, 0);
}

/** The order request body the orders service expects. */
export function orderItems(lines: readonly CartLine[]): { product_id: number; quantity: number }[] {
  return lines.map((line) => ({ product_id: line.productId, quantity: line.quantity }));
}

/** An observable cart for `useSyncExternalStore`: the snapshot only changes on a change. */
export class CartStore {
  private lines: CartLine[];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly storage: StorageLike | null) {
    this.lines = parseCart(this.read());
  }

  getSnapshot = (): readonly CartLine[] => this.lines;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  add(productId: number, quantity = 1): void {
    this.commit(addLine(this.lines, productId, quantity));
  }

  setQuantity(productId: number, quantity: number): void {
    this.commit(setLineQuantity(this.lines, productId, quantity));
  }

  remove(productId: number): void {
    this.commit(removeLine(this.lines, productId));
  }

  clear(): void {
    this.commit([]);
  }

  /** Take another tab's change (the `storage` event). */
  reload(): void {
    this.lines = parseCart(this.read());
    this.emit();
  }

  private read(): string | null {
    try {
      return this.storage?.getItem(CART_KEY) ?? null;
    } catch {
      return null; // storage disabled: the cart lives for this page only
    }
  }

  private commit(lines: CartLine[]): void {
    this.lines = lines;
    try {
      if (lines.length === 0) {
        this.storage?.removeItem(CART_KEY);
      } else {
        this.storage?.setItem(CART_KEY, JSON.stringify(lines));
      }
    } catch {
      // Full or disabled storage: keep the cart in memory.
    }
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) {
      listener();
    }
  }
}
