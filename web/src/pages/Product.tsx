import { useState } from "react";

import { ErrorMessage, Spinner } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { Link } from "../components/Link";
import { ProductImage, StockLabel } from "../components/ProductImage";
import { useAuth } from "../hooks/auth";
import { useCart } from "../hooks/cart";
import { useToast } from "../hooks/toast";
import { useResource } from "../hooks/useResource";
import { MAX_QUANTITY } from "../lib/cart";
import { formatMoney } from "../lib/money";
import type { Product } from "../lib/types";
import { Rating } from "./Catalogue";

export function ProductPage({ id }: { id: number }) {
  const { api } = useAuth();
  const valid = Number.isSafeInteger(id) && id > 0;
  const product = useResource(valid ? `product-${id}` : null, (signal) => api.get<Product>(`/api/products/${id}`, { signal }));
  if (!valid || product.error?.status === 404) {
    return (
      <section className="panel narrow center">
        <title>Product not found · ShopMesh</title>
        <div className="empty-icon">
          <Icon name="question" size={28} />
        </div>
        <h1>This product is not in the shop</h1>
        <p className="muted">It may have been removed, or the link is mistyped.</p>
        <Link className="btn btn-primary" href="/">
          Back to the shop
        </Link>
      </section>
    );
  }
  if (product.error) {
    return (
      <>
        <h1>This product could not be loaded</h1>
        <ErrorMessage error={product.error} onRetry={product.reload} />
      </>
    );
  }
  if (!product.data) {
    return <Spinner label="Loading the product…" />;
  }
  return <ProductDetail product={product.data} />;
}

function ProductDetail({ product }: { product: Product }) {
  const cart = useCart();
  const notify = useToast();
  const [quantity, setQuantity] = useState(1);
  const inCart = cart.lines.find((line) => line.productId === product.id)?.quantity ?? 0;
  const available = Math.max(0, Math.min(MAX_QUANTITY, product.stock_quantity - inCart));
  // "Weight: 1.2 kg" → a row named "Weight"; a line without a colon is a name alone.
  const specs = product.specifications.map((line) => {
    const at = line.indexOf(":");
    return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
  });

  return (
    <article className="product-detail">
      <title>{`${product.name} · ShopMesh`}</title>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link href="/">Shop</Link>
        {product.category && (
          <>
            <span aria-hidden="true">›</span>
            <Link href={`/?category=${encodeURIComponent(product.category)}`}>{product.category}</Link>
          </>
        )}
        <span aria-hidden="true">›</span>
        <span aria-current="page">{product.name}</span>
      </nav>
      <div className="detail-grid">
        <ProductImage name={product.name} images={product.images} large />
        <div className="detail-info">
          {product.brand && <span className="eyebrow">{product.brand}</span>}
          <h1>{product.name}</h1>
          {product.rating_count > 0 && (
            <p>
              <Rating rating={product.rating} count={product.rating_count} long />
            </p>
          )}
          <div className="price price-large">{formatMoney(product.price, product.currency)}</div>
          <p data-testid="stock">
            <StockLabel stock={product.stock_quantity} />
            {inCart > 0 && <span className="muted"> · {inCart} in your cart</span>}
          </p>
          {product.description && <p className="description">{product.description}</p>}
          <form
            className="buy-row"
            onSubmit={(event) => {
              event.preventDefault();
              cart.store.add(product.id, quantity);
              notify(`${quantity} × ${product.name} added to your cart.`);
              setQuantity(1);
            }}
          >
            <div className="field quantity-field">
              <label htmlFor="quantity">Quantity</label>
              <input
                id="quantity"
                type="number"
                min={1}
                max={Math.max(1, available)}
                value={quantity}
                disabled={available === 0}
                onChange={(event) => setQuantity(Math.max(1, Math.min(available || 1, Number(event.target.value) || 1)))}
              />
            </div>
            <button type="submit" className="btn btn-primary" disabled={available === 0}>
              {product.stock_quantity <= 0 ? "Sold out" : available === 0 ? "All stock is in your cart" : "Add to cart"}
            </button>
          </form>
          {product.tags.length > 0 && (
            <ul className="tags" aria-label="Tags">
              {product.tags.map((tag) => (
                <li key={tag} className="tag">
                  {tag}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {(specs.length > 0 || product.sku || product.model || product.origin) && (
        <section className="panel">
          <h2>Details</h2>
          <table className="specs">
            <tbody>
              {product.sku && (
                <tr>
                  <th scope="row">SKU</th>
                  <td>{product.sku}</td>
                </tr>
              )}
              {product.model && (
                <tr>
                  <th scope="row">Model</th>
                  <td>{product.model}</td>
                </tr>
              )}
              {product.origin && (
                <tr>
                  <th scope="row">Origin</th>
                  <td>{product.origin}</td>
                </tr>
              )}
              {specs.map(([key, value]) => (
                <tr key={key}>
                  <th scope="row">{key}</th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {product.additional_info && <p className="muted">{product.additional_info}</p>}
        </section>
      )}
    </article>
  );
}
