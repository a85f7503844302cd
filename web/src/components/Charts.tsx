import { areaPath, linePath, niceMax, seriesPoints } from "../lib/chart";

export interface Bar {
  label: string;
  value: number;
  tone: "primary" | "accent" | "muted";
}

/** Horizontal bars with their values; the scale is shared by every bar. */
export function BarChart({ title, bars, format = String }: { title: string; bars: readonly Bar[]; format?: (value: number) => string }) {
  const max = niceMax(Math.max(0, ...bars.map((bar) => bar.value)));
  const rowHeight = 34;
  const labelWidth = 120;
  const width = 520;
  const chartWidth = width - labelWidth - 70;
  const height = bars.length * rowHeight + 8;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${format(b.value)}`).join(", ")}`}>
        {bars.map((bar, index) => {
          const y = index * rowHeight + 4;
          const barWidth = Math.max(bar.value > 0 ? 3 : 0, (bar.value / max) * chartWidth);
          return (
            <g key={bar.label}>
              <text x={labelWidth - 10} y={y + 20} textAnchor="end" className="chart-label">
                {bar.label}
              </text>
              <rect x={labelWidth} y={y + 4} width={chartWidth} height={rowHeight - 12} rx={5} className="chart-track" />
              <rect x={labelWidth} y={y + 4} width={barWidth} height={rowHeight - 12} rx={5} className={`chart-bar chart-${bar.tone}`} />
              <text x={labelWidth + barWidth + 8} y={y + 20} className="chart-value">
                {format(bar.value)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** A line of recent samples (oldest left), with its latest value. */
export function TrendChart({ title, values, format = String }: { title: string; values: readonly number[]; format?: (value: number) => string }) {
  const width = 520;
  const height = 160;
  const top = 24; // room for the scale's label above the plot
  const max = niceMax(Math.max(0, ...values));
  const points = seriesPoints(values, width, height - top - 4, max).map((p) => ({ x: p.x, y: p.y + top }));
  const last = points[points.length - 1];
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {values.length < 2 ? (
        <p className="muted small chart-empty">Collecting samples… the trend appears after the next refresh.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: latest ${format(values[values.length - 1] ?? 0)}`}>
          {[0.25, 0.5, 0.75].map((f) => (
            <line key={f} x1={0} x2={width} y1={top + (height - top - 4) * f} y2={top + (height - top - 4) * f} className="chart-grid" />
          ))}
          <path d={areaPath(points, height)} className="chart-area" />
          <path d={linePath(points)} className="chart-line" />
          {last && <circle cx={last.x} cy={last.y} r={4} className="chart-dot" />}
          <line x1={0} x2={width} y1={top} y2={top} className="chart-grid" />
          <text x={4} y={14} className="chart-label">
            {format(max)}
          </text>
        </svg>
      )}
    </figure>
  );
}
