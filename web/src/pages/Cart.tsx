import { useState } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { Link } from "../components/Link";
import { ProductImage } from "../components/ProductImage";
import { useAuth } from "../hooks/auth";
import { useCart } from "../hooks/cart";
import { useToast } from "../hooks/toast";
import { usePaymentRequired } from "../hooks/usePaymentRequired";
import { toApiError, useResource } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { MAX_QUANTITY, orderItems } from "../lib/cart";
import { randomId } from "../lib/id";
import { fitsLimit, type PaymentSummary } from "../lib/limit";
import { formatMoney, sumMoney } from "../lib/money";
import { chargeNote, placedOrders } from "../lib/orders";
import { navigate, queryString } from "../lib/router";
import { shortages, type OrdersPlaced, type Product } from "../lib/types";

/** The checkout's refusal in words about this cart, or null to say it the usual way. */
function checkoutProblem(error: ApiError, names: Map<number, string>): string | null {
  if (error.code === "out_of_stock") {
    const lines = shortages(error.details).map(
      (s) => `${names.get(s.product_id) ?? `Product ${s.product_id}`}: ${s.available} left (you asked for ${s.requested})`,
    );
    return lines.length ? `Not enough stock. ${lines.join("; ")}.` : null;
  }
  if (error.code === "product_not_found") {
    return "Some products in your cart are no longer sold. Remove them and try again.";
  }
  return null;
}

export function CartPage() {
  const { api, session, restoring } = useAuth();
  const cart = useCart();
  const notify = useToast();
  const paymentRequired = usePaymentRequired();
  const [placing, setPlacing] = useState(false);
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [idempotencyKey, setIdempotencyKey] = useState(randomId);
  const ids = cart.lines.map((line) => line.productId).sort((a, b) => a - b);
  const products = useResource(ids.length ? `cart-${ids.join(",")}` : null, (signal) =>
    api.get<Product[]>("/api/products", { signal, query: { ids: ids.join(","), limit: 100 } }),
  );
  // The checkout is charged to the payments limit: say beforehand when it will not fit.
  const limit = useResource(session && ids.length ? `cart-limit-${session.id}` : null, (signal) =>
    api.get<PaymentSummary>("/api/payments/summary", { signal }),
  );
  const byId = new Map((products.data ?? []).map((product) => [product.id, product]));
  const names = new Map([...byId].map(([id, product]) => [id, product.name]));

  if (cart.lines.length === 0) {
    return (
      <>
        <title>Cart · ShopMesh</title>
        <h1>Your cart</h1>
        <Empty title="Your cart is empty" icon="cart">
          <p className="muted">Add something from the shop and it will wait for you here, even after a reload.</p>
          <Link className="btn btn-primary" href="/">
            Browse the shop
          </Link>
        </Empty>
      </>
    );
  }

  const priced = cart.lines.map((line) => ({ line, product: byId.get(line.productId) }));
  const missing = products.data ? priced.filter((row) => !row.product) : [];
  const currency = priced.find((row) => row.product)?.product?.currency ?? "USD";
  const total = sumMoney(priced.map((row) => (row.product ? row.product.price * row.line.quantity : 0)));
  // Only a checkout that is charged can go over the limit.
  const overLimit = paymentRequired !== false && limit.data !== undefined && products.data !== undefined && !fitsLimit(limit.data, total);

  const checkout = async () => {
    setPlacing(true);
    setProblem(null);
    try {
      const placed = await api.post<OrdersPlaced>("/api/orders", { items: orderItems(cart.lines) }, { headers: { "Idempotency-Key": idempotencyKey } });
      placedOrders.remember(placed.orders);
      cart.store.clear();
      setIdempotencyKey(randomId());
      const what = placed.order_count === 1 ? "Order placed" : `${placed.order_count} orders placed`;
      const follow = paymentRequired === false ? "its dispatch" : "the payment and dispatch";
      notify(`${what}: ${formatMoney(placed.total, currency)}. You can follow ${follow} live here.`);
      navigate("/orders");
    } catch (caught) {
      const error = toApiError(caught);
      setProblem(error);
      if (error.status >= 400 && error.status < 500) {
        setIdempotencyKey(randomId()); // refused: a corrected cart is a new request
      }
      products.reload();
      limit.reload();
    } finally {
      setPlacing(false);
    }
  };

  return (
    <>
      <title>Cart · ShopMesh</title>
      <h1>Your cart</h1>
      <div className="cart-layout">
        <section className="panel cart-lines" aria-label="Items">
          {products.error && <ErrorMessage error={products.error} onRetry={products.reload} />}
          {!products.data && products.loading && <Spinner label="Loading your cart…" />}
          <ul className="line-list">
            {priced.map(({ line, product }) => (
              <li key={line.productId} className="cart-line" data-testid="cart-line">
                <ProductImage name={product?.name ?? "Product"} images={product?.images ?? []} />
                <div className="cart-line-info">
                  {product ? (
                    <Link href={`/products/${product.id}`} className="strong">
                      {product.name}
                    </Link>
                  ) : (
                    <span className="muted">{products.data ? "No longer available" : "Loading…"}</span>
                  )}
                  {product && <span className="muted small">{formatMoney(product.price, product.currency)} each</span>}
                  {product && line.quantity > product.stock_quantity && (
                    <span className="field-error">Only {product.stock_quantity} in stock</span>
                  )}
                </div>
                <div className="stepper" role="group" aria-label={`Quantity of ${product?.name ?? "product"}`}>
                  <button type="button" aria-label="One less" onClick={() => cart.store.setQuantity(line.productId, line.quantity - 1)}>
                    −
                  </button>
                  <input
                    type="number"
                    aria-label="Quantity"
                    min={1}
                    max={MAX_QUANTITY}
                    value={line.quantity}
                    onChange={(event) => cart.store.setQuantity(line.productId, Number(event.target.value) || 1)}
                  />
                  <button type="button" aria-label="One more" onClick={() => cart.store.add(line.productId)}>
                    +
                  </button>
                </div>
                <span className="line-total">{product ? formatMoney(product.price * line.quantity, product.currency) : "—"}</span>
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  aria-label={`Remove ${product?.name ?? "product"}`}
                  onClick={() => cart.store.remove(line.productId)}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          {missing.length > 0 && (
            <p className="muted small">Products no longer in the shop cannot be ordered; remove them to check out.</p>
          )}
        </section>
        <aside className="panel summary" aria-label="Order summary">
          <h2>Summary</h2>
          <dl className="summary-list">
            <div>
              <dt>Items</dt>
              <dd>{cart.count}</dd>
            </div>
            <div>
              <dt>Shipping</dt>
              <dd>Free</dd>
            </div>
            <div className="summary-total">
              <dt>Total</dt>
              <dd className="strong" data-testid="cart-total">
                {formatMoney(total, currency)}
              </dd>
            </div>
          </dl>
          <p className={overLimit ? "field-error small" : "muted small"} data-testid="cart-limit-note">
            {overLimit && limit.data
              ? `This is more than the ${formatMoney(limit.data.remaining)} left of your spending limit: the payment will be declined.`
              : chargeNote(paymentRequired)}
          </p>
          {problem && <ErrorMessage error={checkoutProblem(problem, names) ?? problem} testId="checkout-error" />}
          {session ? (
            <button
              type="button"
              className="btn btn-primary btn-block"
              disabled={placing || missing.length > 0 || !products.data}
              onClick={() => void checkout()}
            >
              {placing ? "Placing your order…" : "Place order"}
            </button>
          ) : (
            !restoring && (
              <Link className="btn btn-primary btn-block" href={`/signin${queryString({ next: "/cart" })}`}>
                Sign in to check out
              </Link>
            )
          )}
          <button type="button" className="btn btn-ghost btn-block" onClick={() => cart.store.clear()}>
            Empty the cart
          </button>
        </aside>
      </div>
    </>
  );
}
