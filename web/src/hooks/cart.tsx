import { createContext, use, useEffect, useSyncExternalStore, type ReactNode } from "react";

import { CART_KEY, CartStore, itemCount, type CartLine } from "../lib/cart";

const CartContext = createContext<CartStore | null>(null);

export function CartProvider({ store, children }: { store: CartStore; children: ReactNode }) {
  useEffect(() => {
    // Another tab changed the cart.
    const onStorage = (event: StorageEvent) => {
      if (event.key === CART_KEY || event.key === null) {
        store.reload();
      }
    };
    window.addEventListener("storage", onStorage);
    return () => {
      window.removeEventListener("storage", onStorage);
    };
  }, [store]);
  return <CartContext value={store}>{children}</CartContext>;
}

export interface Cart {
  lines: readonly CartLine[];
  count: number;
  store: CartStore;
}

export function useCart(): Cart {
  const store = use(CartContext);
  if (!store) {
    throw new Error("useCart outside CartProvider");
  }
  const lines = useSyncExternalStore(store.subscribe, store.getSnapshot);
  return { lines, count: itemCount(lines), store };
}
