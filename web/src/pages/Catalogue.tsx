import { useState, type SubmitEvent } from "react";

import { Empty, ErrorMessage, SkeletonGrid } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { Link } from "../components/Link";
import { Pager } from "../components/Pager";
import { ProductImage, StockLabel } from "../components/ProductImage";
import { useAuth } from "../hooks/auth";
import { useCart } from "../hooks/cart";
import { useToast } from "../hooks/toast";
import { useAutoRetry } from "../hooks/useAutoRetry";
import { useResource } from "../hooks/useResource";
import { totalCount } from "../lib/api";
import { plural } from "../lib/format";
import { formatMoney } from "../lib/money";
import { navigate, queryString, useLocation } from "../lib/router";
import type { Product } from "../lib/types";

export const PAGE_SIZE = 12;

const SORTS = [
  { value: "", label: "Featured" },
  { value: "price", label: "Price: low to high" },
  { value: "-price", label: "Price: high to low" },
  { value: "name", label: "Name: A to Z" },
  { value: "-created_at", label: "Newest" },
  { value: "-rating", label: "Top rated" },
];

interface Filters {
  q: string;
  category: string;
  sort: string;
  offset: number;
}

function readFilters(search: string): Filters {
  const params = new URLSearchParams(search);
  const offset = Number(params.get("offset") ?? "0");
  return {
    q: params.get("q") ?? "",
    category: params.get("category") ?? "",
    sort: params.get("sort") ?? "",
    offset: Number.isSafeInteger(offset) && offset > 0 ? offset : 0,
  };
}

function showFilters(filters: Filters): void {
  navigate(`/${queryString({ ...filters, offset: filters.offset || null })}`);
}

/** "★ 4.5 (12)" on screen, "Rated 4.5 out of 5 by 12 people" to a screen reader. */
export function Rating({ rating, count, long = false }: { rating: number; count: number; long?: boolean }) {
  return (
    <span className="rating">
      <span aria-hidden="true">
        <Icon name="star" size={15} className="rating-star" /> {rating.toFixed(1)}{" "}
        <span className="muted">{long ? `from ${count} reviews` : `(${count})`}</span>
      </span>
      <span className="sr-only">
        Rated {rating.toFixed(1)} out of 5 by {plural(count, "person", "people")}
      </span>
    </span>
  );
}

export function ProductCard({ product }: { product: Product }) {
  const cart = useCart();
  const notify = useToast();
  const inCart = cart.lines.find((line) => line.productId === product.id)?.quantity ?? 0;
  const soldOut = product.stock_quantity <= inCart;
  return (
    <article className="card product-card" data-testid="product-card" data-product-id={product.id}>
      {/* The picture repeats the name's link: one tab stop per product is enough. */}
      <Link href={`/products/${product.id}`} className="product-link" tabIndex={-1} aria-hidden="true">
        <ProductImage name={product.name} images={product.images} />
      </Link>
      <div className="product-body">
        {product.brand && <span className="eyebrow">{product.brand}</span>}
        <h2 className="product-name">
          <Link href={`/products/${product.id}`}>{product.name}</Link>
        </h2>
        {product.rating_count > 0 && <Rating rating={product.rating} count={product.rating_count} />}
        <div className="product-foot">
          <span className="price">{formatMoney(product.price, product.currency)}</span>
          <StockLabel stock={product.stock_quantity} />
        </div>
        <button
          type="button"
          className="btn btn-primary btn-block"
          disabled={soldOut}
          onClick={() => {
            cart.store.add(product.id);
            notify(`${product.name} added to your cart.`);
          }}
        >
          {product.stock_quantity <= 0 ? "Sold out" : soldOut ? "All in your cart" : "Add to cart"}
          {/* The visible words come first in the name, so voice control finds them. */}
          <span className="sr-only"> ({product.name})</span>
        </button>
      </div>
    </article>
  );
}

export function CataloguePage() {
  const { api } = useAuth();
  const { search } = useLocation();
  const filters = readFilters(search);
  const [text, setText] = useState(filters.q);
  const [shownQ, setShownQ] = useState(filters.q);
  if (shownQ !== filters.q) {
    // Back/forward changed the search: show it in the box.
    setShownQ(filters.q);
    setText(filters.q);
  }

  const categories = useResource("categories", (signal) => api.get<string[]>("/api/products/categories", { signal }));
  const products = useResource(`products${search}`, async (signal) => {
    const response = await api.request<Product[]>("GET", "/api/products", {
      signal,
      query: { limit: PAGE_SIZE, offset: filters.offset, q: filters.q, category: filters.category, sort: filters.sort },
    });
    return { items: response.data, total: totalCount(response.headers) };
  });
  useAutoRetry(products.error, products.reload);

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    showFilters({ ...filters, q: text.trim(), offset: 0 });
  };

  const items = products.data?.items;
  const filtered = filters.q !== "" || filters.category !== "";
  return (
    <>
      <title>Shop · ShopMesh</title>
      <section className="hero">
        <div>
          <h1>Find something you’ll love</h1>
          <p>Fresh stock, honest prices, and orders you can watch ship in real time.</p>
        </div>
      </section>
      <form className="toolbar" role="search" onSubmit={submit}>
        <div className="field grow">
          <label htmlFor="search">Search products</label>
          <div className="input-group">
            <input
              id="search"
              type="search"
              placeholder="Search by name, brand or description"
              value={text}
              maxLength={200}
              onChange={(event) => setText(event.target.value)}
            />
            <button type="submit" className="btn btn-primary">
              Search
            </button>
          </div>
        </div>
        <div className="field">
          <label htmlFor="category">Category</label>
          <select
            id="category"
            value={filters.category}
            onChange={(event) => showFilters({ ...filters, category: event.target.value, offset: 0 })}
          >
            <option value="">All categories</option>
            {(categories.data ?? []).map((category) => (
              <option key={category} value={category}>
                {category}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="sort">Sort by</label>
          <select id="sort" value={filters.sort} onChange={(event) => showFilters({ ...filters, sort: event.target.value, offset: 0 })}>
            {SORTS.map((sort) => (
              <option key={sort.value} value={sort.value}>
                {sort.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      {products.data && (
        <p className="result-count muted" aria-live="polite">
          {products.data.total !== null
            ? plural(products.data.total, "product")
            : `${plural(products.data.items.length, "product")} shown`}
          {filters.q && ` matching “${filters.q}”`}
          {filters.category && ` in ${filters.category}`}
          {products.loading && " · updating…"}
        </p>
      )}
      {products.error && <ErrorMessage error={products.error} onRetry={products.reload} />}
      {!items && products.loading && <SkeletonGrid />}
      {items?.length === 0 && (
        <Empty title={filtered ? "No products match" : "The shop is empty for now"} icon="search">
          {filtered ? (
            <button type="button" className="btn" onClick={() => showFilters({ q: "", category: "", sort: filters.sort, offset: 0 })}>
              Clear the filters
            </button>
          ) : (
            <p className="muted">Check back soon: new products are on their way.</p>
          )}
        </Empty>
      )}
      {items && items.length > 0 && (
        <div className="grid" aria-busy={products.loading}>
          {items.map((product) => (
            <ProductCard key={product.id} product={product} />
          ))}
        </div>
      )}
      {products.data && (
        <Pager
          offset={filters.offset}
          limit={PAGE_SIZE}
          shown={products.data.items.length}
          total={products.data.total}
          onPage={(offset) => showFilters({ ...filters, offset })}
        />
      )}
    </>
  );
}
