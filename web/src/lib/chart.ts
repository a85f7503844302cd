/** Arithmetic for the small SVG charts (kept pure so it is tested). */

/** A round upper bound for an axis: 0 → 1, 7 → 10, 730 → 800, 1200 → 1500. */
export function niceMax(value: number): number {
  if (!(value > 0)) {
    return 1;
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (value <= step * magnitude) {
      return step * magnitude;
    }
  }
  return 10 * magnitude;
}

export interface Point {
  x: number;
  y: number;
}

/** Points of a series laid out left to right in a `width` × `height` box (y grows downward). */
export function seriesPoints(values: readonly number[], width: number, height: number, max = niceMax(Math.max(0, ...values))): Point[] {
  if (values.length === 0) {
    return [];
  }
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((value, index) => ({
    x: values.length > 1 ? index * step : width / 2,
    y: height - (Math.max(0, value) / max) * height,
  }));
}

export function linePath(points: readonly Point[]): string {
  return points.map((p, index) => `${index === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}

/** The line's path closed down to the baseline, for a filled area. */
export function areaPath(points: readonly Point[], height: number): string {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) {
    return "";
  }
  return `${linePath(points)} L${last.x.toFixed(1)},${height} L${first.x.toFixed(1)},${height} Z`;
}

/** Keep the newest `size` samples. */
export function pushSample<T>(history: readonly T[], sample: T, size: number): T[] {
  return [...history, sample].slice(-size);
}
