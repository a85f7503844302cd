import { useState } from "react";

import { hueOf, initials } from "../lib/format";

/** The product's first picture, or a tidy coloured tile with its initials. */
export function ProductImage({ name, images, large = false }: { name: string; images: readonly string[]; large?: boolean }) {
  const [failed, setFailed] = useState(false);
  const src = images[0];
  const className = `product-image${large ? " product-image-large" : ""}`;
  if (src && !failed) {
    return (
      <div className={className}>
        <img src={src} alt={name} loading="lazy" onError={() => setFailed(true)} />
      </div>
    );
  }
  const hue = hueOf(name);
  return (
    <div
      className={`${className} product-image-placeholder`}
      style={{ background: `linear-gradient(135deg, hsl(${hue} 55% 88%), hsl(${(hue + 40) % 360} 60% 78%))` }}
      role="img"
      aria-label={name}
    >
      <span style={{ color: `hsl(${hue} 45% 30%)` }}>{initials(name)}</span>
    </div>
  );
}

export function StockLabel({ stock }: { stock: number }) {
  if (stock <= 0) {
    return <span className="stock stock-out">Out of stock</span>;
  }
  if (stock <= 5) {
    return <span className="stock stock-low">Only {stock} left</span>;
  }
  return <span className="stock stock-in">In stock ({stock})</span>;
}
