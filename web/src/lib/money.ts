/** Money on the client: amounts arrive as JSON numbers with at most two decimals. */

const formatters = new Map<string, Intl.NumberFormat | null>();

function currencyFormatter(currency: string): Intl.NumberFormat | null {
  if (!formatters.has(currency)) {
    let made: Intl.NumberFormat | null;
    try {
      made = new Intl.NumberFormat("en-US", { style: "currency", currency });
    } catch {
      made = null; // not a well-formed currency code
    }
    formatters.set(currency, made);
  }
  return formatters.get(currency) ?? null;
}

const plain = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `1234.5` → `$1,234.50`; a code Intl cannot use still shows the amount: `1,234.50 ???`. */
export function formatMoney(amount: number, currency = "USD"): string {
  const formatter = currencyFormatter(currency);
  return formatter ? formatter.format(amount) : `${plain.format(amount)} ${currency}`;
}

/** Whole cents, so sums of amounts never drift (0.1 + 0.2). */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

export function fromCents(cents: number): number {
  return cents / 100;
}

/** Adds amounts exactly (to the cent). */
export function sumMoney(amounts: Iterable<number>): number {
  let cents = 0;
  for (const amount of amounts) {
    cents += toCents(amount);
  }
  return fromCents(cents);
}

export type AmountParse = { ok: true; value: number } | { ok: false; error: string };

/** What a person typed into an amount field: more than 0, at most two decimals. */
export function parseAmount(text: string): AmountParse {
  const trimmed = text.trim().replace(/,/g, "");
  if (trimmed === "") {
    return { ok: false, error: "Enter an amount." };
  }
  const value = Number(trimmed);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(trimmed) || Number.isNaN(value)) {
    return { ok: false, error: "Enter a number, like 49.99." };
  }
  if (!(value > 0)) {
    return { ok: false, error: "Enter an amount above 0." };
  }
  if (!/^\+?\d*(\.\d{0,2})?$/.test(trimmed)) {
    return { ok: false, error: "Use at most two decimals, like 49.99." };
  }
  return { ok: true, value };
}
