import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { AuthProvider } from "./hooks/auth";
import { CartProvider } from "./hooks/cart";
import { ToastProvider } from "./hooks/toast";
import { ApiClient } from "./lib/api";
import { CartStore } from "./lib/cart";
import { apiBase } from "./lib/config";
import { browserTabs } from "./lib/tabs";
import "./styles.css";

function localStorageOrNull(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked by the browser's settings
  }
}

const storage = localStorageOrNull();
const api = new ApiClient(apiBase(), undefined, browserTabs(storage));
const cart = new CartStore(storage);
const root = document.getElementById("root");
if (!root) {
  throw new Error("index.html has no #root");
}

createRoot(root).render(
  <StrictMode>
    <AuthProvider api={api}>
      <CartProvider store={cart}>
        <ToastProvider>
          <App />
        </ToastProvider>
      </CartProvider>
    </AuthProvider>
  </StrictMode>,
);
