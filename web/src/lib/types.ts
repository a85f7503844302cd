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

/** The order saga (DESIGN.md): Created → Paid → Dispatched, or Payment declined, or Cancelled. */
export type OrderStatus = "Created" | "Paid" | "Payment declined" | "Dispatched" | "Cancelled";

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
  /** Shared by the orders (lines) of one checkout. */
  checkout_id: string;
  /** The payments transaction that charged the order, once it has one. */
  transaction_id: number | null;
  /** Why the payment was declined (`limit_exceeded`, ...), when it was. */
  decline_reason: string | null;
  created_at: string;
  updated_at: string;
  updated_by: string;
  product?: Partial<Product> | null;
}

/** How the deployment runs the order saga (`GET /api/orders/settings`). */
export interface OrderSettings {
  /** Orders are charged by payments before they ship; false: shipped uncharged (the commerce seed's flow). */
  payment_required: boolean;
}

/** The answer to an order of several lines (a cart). */
export interface OrdersPlaced {
  message: string;
  order_ids: number[];
  order_count: number;
  orders: Order[];
  checkout_id: string;
  /** What the checkout costs: the sum of its orders' total_cost. */
  total: number;
}

export interface StatusEvent {
  order_id: number;
  status: OrderStatus;
  updated_at: string;
  /** Sent along when the stream knows it; otherwise the order is read again. */
  decline_reason?: string | null;
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
  /** The order this transaction charged (null: a transaction entered by hand). */
  order_id: number | null;
  /** Cancelled order's charge: shown struck through, counts toward nothing. */
  is_voided: boolean;
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
