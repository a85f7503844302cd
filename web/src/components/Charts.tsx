import type { CSSProperties } from "react";

import { areaPath, linePath, niceMax, seriesPoints } from "../lib/chart";

export interface Bar {
  label: string;
  value: number;
  tone: "primary" | "accent" | "muted";
}

function percent(value: number, max: number): string {
  return `${Math.min(100, Math.max(0, (value / max) * 100)).toFixed(2)}%`;
}

/**
 * Horizontal bars with their values; the scale is shared by every bar. Laid out
 * in HTML, so the words keep the page's text size however wide the chart is.
 */
export function BarChart({ title, bars, format = String }: { title: string; bars: readonly Bar[]; format?: (value: number) => string }) {
  const max = niceMax(Math.max(0, ...bars.map((bar) => bar.value)));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <ul className="bars">
        {bars.map((bar, index) => (
          <li key={`${bar.label}-${index}`} className="bar-row">
            <span className="bar-label" title={bar.label}>
              {bar.label}
            </span>
            <span className="bar-track" aria-hidden="true">
              <span className={`bar chart-${bar.tone}`} style={{ width: bar.value > 0 ? `max(3px, ${percent(bar.value, max)})` : 0 }} />
            </span>
            <span className="bar-value">{format(bar.value)}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

const PLOT_WIDTH = 520;
const PLOT_HEIGHT = 140;

/**
 * A line of recent samples (oldest left), with its latest value. The line is drawn
 * in SVG stretched to the box (its stroke keeps its width); the text is HTML.
 */
export function TrendChart({ title, values, format = String }: { title: string; values: readonly number[]; format?: (value: number) => string }) {
  const max = niceMax(Math.max(0, ...values));
  const points = seriesPoints(values, PLOT_WIDTH, PLOT_HEIGHT, max);
  const last = points[points.length - 1];
  const latest = format(values[values.length - 1] ?? 0);
  const dot: CSSProperties | undefined = last && {
    left: percent(last.x, PLOT_WIDTH),
    top: percent(last.y, PLOT_HEIGHT),
  };
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {values.length < 2 ? (
        <p className="muted small chart-empty">Collecting samples… the trend appears after the next refresh.</p>
      ) : (
        <div className="trend" role="img" aria-label={`${title}: latest ${latest}, scale up to ${format(max)}`}>
          <span className="trend-scale">{format(max)}</span>
          <div className="trend-plot">
            <svg viewBox={`0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}`} preserveAspectRatio="none" aria-hidden="true">
              {[0, 0.25, 0.5, 0.75].map((f) => (
                <line key={f} x1={0} x2={PLOT_WIDTH} y1={PLOT_HEIGHT * f} y2={PLOT_HEIGHT * f} className="chart-grid" />
              ))}
              <path d={areaPath(points, PLOT_HEIGHT)} className="chart-area" />
              <path d={linePath(points)} className="chart-line" />
            </svg>
            {dot && <span className="trend-dot" style={dot} aria-hidden="true" />}
          </div>
          <span className="trend-latest">Latest: {latest}</span>
        </div>
      )}
    </figure>
  );
}
