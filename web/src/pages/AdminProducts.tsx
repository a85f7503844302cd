import { useRef, useState, type SubmitEvent } from "react";

import { CardTable } from "../components/CardTable";
import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { TextArea, TextField } from "../components/Field";
import { Pager } from "../components/Pager";
import { RowActions } from "../components/RowActions";
import { useAuth } from "../hooks/auth";
import { useFocusOnMount } from "../hooks/useFocusOnMount";
import { useToast } from "../hooks/toast";
import { toApiError, useResource } from "../hooks/useResource";
import { totalCount, type ApiError } from "../lib/api";
import { formatMoney, parseAmount } from "../lib/money";
import { fieldErrors, humanMessage } from "../lib/messages";
import type { Product } from "../lib/types";

const PAGE = 20;
const PRODUCT_COLUMNS = [
  { label: "Name" },
  { label: "Category" },
  { label: "Price", numeric: true },
  { label: "Stock", numeric: true },
  { label: "State" },
];

interface ProductForm {
  name: string;
  price: string;
  stock: string;
  category: string;
  brand: string;
  sku: string;
  image: string;
  description: string;
  active: boolean;
}

function formOf(product: Product | null): ProductForm {
  return {
    name: product?.name ?? "",
    price: product ? product.price.toFixed(2) : "",
    stock: product ? String(product.stock_quantity) : "10",
    category: product?.category ?? "",
    brand: product?.brand ?? "",
    sku: product?.sku ?? "",
    image: product?.images[0] ?? "",
    description: product?.description ?? "",
    active: product?.is_active ?? true,
  };
}

/** The body of POST/PUT: for an edit, every field of the product with the form's changes on top. */
export function productBody(form: ProductForm, price: number, existing: Product | null): Record<string, unknown> {
  // The form edits the first picture; any further ones are kept as they are.
  const rest = existing ? existing.images.slice(1) : [];
  const image = form.image.trim();
  const images = image ? [image, ...rest] : rest;
  const kept = existing
    ? {
        currency: existing.currency,
        model: existing.model,
        origin: existing.origin,
        tags: existing.tags,
        specifications: existing.specifications,
        additional_info: existing.additional_info,
        rating: existing.rating,
        rating_count: existing.rating_count,
      }
    : {};
  return {
    ...kept,
    name: form.name.trim(),
    description: form.description,
    price,
    stock_quantity: Number(form.stock),
    category: form.category.trim() || null,
    brand: form.brand.trim() || null,
    sku: form.sku.trim() || null,
    images,
    is_active: form.active,
  };
}

function ProductEditor({ product, onDone }: { product: Product | null; onDone: (saved: Product | null) => void }) {
  const { api } = useAuth();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [form, setForm] = useState(() => formOf(product));
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const errors = { ...fieldErrors(error), ...local };
  const set = (key: keyof ProductForm) => (event: { target: { value: string } }) => {
    setForm((current) => ({ ...current, [key]: event.target.value }));
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const price = parseAmount(form.price);
    const stockOk = /^\d+$/.test(form.stock.trim());
    const problems: Record<string, string> = {};
    if (!price.ok) {
      problems.price = price.error;
    }
    if (!stockOk) {
      problems.stock_quantity = "Enter a whole number of 0 or more.";
    }
    setLocal(problems);
    if (!price.ok || !stockOk) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = productBody(form, price.value, product);
      const saved = product
        ? await api.put<Product>(`/api/products/${product.id}`, body)
        : await api.post<Product>("/api/products", body);
      onDone(saved);
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel editor" aria-labelledby="editor-title">
      <h2 id="editor-title" ref={heading} tabIndex={-1}>{product ? `Edit “${product.name}”` : "New product"}</h2>
      <form className="form-grid" onSubmit={(event) => void submit(event)} noValidate>
        <TextField label="Name" required maxLength={200} value={form.name} onChange={set("name")} error={errors.name} />
        <TextField label="Price (USD)" inputMode="decimal" required value={form.price} onChange={set("price")} error={errors.price} />
        <TextField label="Stock" inputMode="numeric" required value={form.stock} onChange={set("stock")} error={errors.stock_quantity} />
        <TextField label="Category" maxLength={100} value={form.category} onChange={set("category")} error={errors.category} />
        <TextField label="Brand" maxLength={100} value={form.brand} onChange={set("brand")} error={errors.brand} />
        <TextField label="SKU" maxLength={64} value={form.sku} onChange={set("sku")} error={errors.sku} hint="Unique; letters, digits, '.', '_', '-'" />
        <TextField
          label="Image URL"
          type="url"
          wide
          value={form.image}
          onChange={set("image")}
          error={errors.images}
          hint="Optional http(s) address of a picture"
        />
        <TextArea label="Description" wide rows={3} value={form.description} onChange={set("description")} error={errors.description} />
        <label className="checkbox span-2">
          <input type="checkbox" checked={form.active} onChange={(event) => setForm((f) => ({ ...f, active: event.target.checked }))} />
          Shown in the shop
        </label>
        {error && (
          <div className="span-2">
            <ErrorMessage error={error} fields={Object.keys(errors)} />
          </div>
        )}
        <div className="span-2 form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : product ? "Save product" : "Create product"}
          </button>
          <button type="button" className="btn btn-ghost" onClick={() => onDone(null)}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

export function AdminProducts() {
  const { api } = useAuth();
  const notify = useToast();
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<Product | "new" | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const products = useResource(`admin-products-${offset}`, async (signal) => {
    const response = await api.request<Product[]>("GET", "/api/products", {
      signal,
      query: { include_inactive: true, limit: PAGE, offset, sort: "-created_at" },
    });
    return { items: response.data, total: totalCount(response.headers) };
  });

  const remove = async (product: Product) => {
    setConfirming(null);
    try {
      await api.delete(`/api/products/${product.id}`);
      notify(`${product.name} is removed from the shop.`, "info");
    } catch (caught) {
      notify(humanMessage(toApiError(caught)), "error");
    }
    products.reload();
  };

  return (
    <>
      <div className="section-head">
        <h2>Products</h2>
        <button ref={newButton} type="button" className="btn btn-primary" onClick={() => setEditing("new")}>
          New product
        </button>
      </div>
      {editing && (
        <ProductEditor
          key={editing === "new" ? "new" : editing.id}
          product={editing === "new" ? null : editing}
          onDone={(saved) => {
            setEditing(null);
            newButton.current?.focus();
            if (saved) {
              notify(`${saved.name} is saved.`);
              products.reload();
            }
          }}
        />
      )}
      {products.error && <ErrorMessage error={products.error} onRetry={products.reload} />}
      {!products.data && products.loading && <Spinner />}
      {products.data?.items.length === 0 && <Empty title="No products yet" level={3}>Create the first one with “New product”.</Empty>}
      {products.data && products.data.items.length > 0 && (
        <CardTable columns={PRODUCT_COLUMNS} actions>
          {products.data.items.map((product) => (
            <tr key={product.id} data-testid="admin-product">
              <td className="strong card-title">{product.name}</td>
              <td data-label="Category">{product.category ?? <span className="muted">—</span>}</td>
              <td className="num" data-label="Price">
                {formatMoney(product.price, product.currency)}
              </td>
              <td className="num" data-label="Stock">
                {product.stock_quantity}
              </td>
              <td data-label="State">
                <span className={`badge ${product.is_active ? "badge-paid" : "badge-cancelled"}`}>{product.is_active ? "Active" : "Hidden"}</span>
              </td>
              <td className="actions">
                <RowActions
                  name={product.name}
                  confirming={confirming === product.id}
                  onEdit={() => setEditing(product)}
                  onAsk={product.is_active ? () => setConfirming(product.id) : null}
                  onConfirm={() => void remove(product)}
                  onKeep={() => setConfirming(null)}
                />
              </td>
            </tr>
          ))}
        </CardTable>
      )}
      {products.data && <Pager offset={offset} limit={PAGE} shown={products.data.items.length} total={products.data.total} onPage={setOffset} />}
    </>
  );
}
