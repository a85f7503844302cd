/** The shapes the gateway answers with (see the services' api.py files). */

/** "user" or "admin" today; kept open for roles added later. */
export type Role = string;

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: string;
}

export interface Product {
  id: number;
  name: string;
  description: string;
  price: number;
  currency: string;
  stock_quantity: number;
  category: string | null;
  brand: string | null;
  model: string | null;
  /** Country of origin. */
  origin: string | null;
  sku: string | null;
  images: string[];
  tags: string[];
  /** Named details as lines to show ("Weight: 1.2 kg"). */
  specifications: string[];
  additional_info: string;
  rating: number;
  rating_count: number;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

/** What the admin form sends (POST/PUT /api/products). */
export interface ProductInput {
  name: string;
  description: string;
  price: number;
  currency: string;
  stock_quantity: number;
  category: string | null;
  brand: string | null;
  sku: string | null;
  images: string[];
  is_active: boolean;
}

export type OrderStatus = "Created" | "Dispatched" | "Cancelled";

export interface Order {
  id: number;
  reference: string;
  customer_id: number;
  product_id: number;
  product_name: string;
  quantity: number;
  per_cost: number;
  total_cost: number;
  currency: string;
  status: OrderStatus;
  created_at: string;
  updated_at: string;
  updated_by: string;
  product?: Partial<Product> | null;
}

/** The answer to an order of several lines (a cart). */
export interface OrdersPlaced {
  message: string;
  order_ids: number[];
  order_count: number;
  orders: Order[];
}

export interface StatusEvent {
  order_id: number;
  status: OrderStatus;
  updated_at: string;
}

export interface Customer {
  id: number;
  user_id: number;
  name: string;
  email: string | null;
  address: string | null;
  city: string | null;
  mobile: string | null;
  preferences: Record<string, string>;
  location: string | null;
  interests: string[];
  created_at: string;
  updated_at: string;
}

export interface CustomerInput {
  name: string;
  email: string;
  address: string | null;
  city: string | null;
  mobile: string | null;
  location: string | null;
  interests: string[];
}

export interface Transaction {
  id: number;
  user_id: number;
  amount: number;
  description: string;
  is_paid: boolean;
  created_at: string;
}

export interface PayResult {
  message: string;
  transactions_paid: number;
}

export interface Stats {
  total_transactions: number;
  total_amount: number;
  total_paid_transactions: number;
  events_processed: number;
  unique_users: number;
  last_event_time: string | null;
}

export interface WebhookDelivery {
  id: number;
  order_id: number;
  url: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
}

/** `details` of a 409 `out_of_stock`. */
export interface StockShortage {
  product_id: number;
  requested: number;
  available: number;
}

const ORDER_STATUSES: readonly string[] = ["Created", "Dispatched", "Cancelled"];

/** The `data` of an `event: status` message, or null when it is not one. */
export function parseStatusEvent(data: string): StatusEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) {
    return null;
  }
  const event = value as Record<string, unknown>;
  const orderId = event.order_id ?? event.id;
  if (typeof orderId !== "number" || typeof event.status !== "string" || !ORDER_STATUSES.includes(event.status)) {
    return null;
  }
  return {
    order_id: orderId,
    status: event.status as OrderStatus,
    updated_at: typeof event.updated_at === "string" ? event.updated_at : new Date().toISOString(),
  };
}

/** Apply a live status change to a list of orders (a new array only when something changed). */
export function applyStatus(orders: readonly Order[], change: StatusEvent): Order[] | null {
  const index = orders.findIndex((order) => order.id === change.order_id);
  const current = orders[index];
  if (!current) {
    return null; // not in the list yet: the caller reloads
  }
  if (current.status === change.status) {
    return [...orders];
  }
  const next = [...orders];
  next[index] = { ...current, status: change.status, updated_at: change.updated_at };
  return next;
}

export function shortages(details: unknown): StockShortage[] {
  if (!Array.isArray(details)) {
    return [];
  }
  return details.filter(
    (item): item is StockShortage =>
      typeof item === "object" &&
      item !== null &&
      typeof (item as StockShortage).product_id === "number" &&
      typeof (item as StockShortage).available === "number",
  );
}
