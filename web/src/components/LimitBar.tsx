import { limitBar, type PaymentSummary } from "../lib/limit";
import { formatMoney } from "../lib/money";

/** The caller's spending against the per-user limit. */
export function LimitBar({ summary }: { summary: PaymentSummary }) {
  const bar = limitBar(summary);
  const caption =
    summary.scope === "all"
      ? "All transactions count toward the limit, order charges included; voided ones do not."
      : "Only unpaid transactions count toward the limit, order charges included; voided ones do not.";
  return (
    <section className="limit" aria-labelledby="limit-title">
      <div className="limit-head">
        <h2 id="limit-title">Spending limit</h2>
        <span className={`limit-figure limit-${bar.level}`} data-testid="limit-used">
          {formatMoney(bar.used)} <span className="muted">of {formatMoney(bar.limit)}</span>
        </span>
      </div>
      <div
        className={`limit-track limit-${bar.level}`}
        role="meter"
        aria-label="Limit used"
        aria-valuemin={0}
        aria-valuemax={bar.limit}
        aria-valuenow={bar.used}
        aria-valuetext={`${formatMoney(bar.used)} of ${formatMoney(bar.limit)} used`}
      >
        <div className="limit-paid" style={{ width: `${bar.paidPercent}%` }} />
        <div className="limit-unpaid" style={{ width: `${bar.unpaidPercent}%` }} />
      </div>
      <div className="limit-legend">
        {summary.scope === "all" && (
          <span>
            <i className="dot dot-paid" aria-hidden="true" /> Paid {formatMoney(Math.max(0, summary.total - summary.unpaid_total))}
          </span>
        )}
        <span>
          <i className="dot dot-unpaid" aria-hidden="true" /> Unpaid {formatMoney(summary.unpaid_total)}
        </span>
        <span className="limit-remaining" data-testid="limit-remaining">
          {formatMoney(bar.remaining)} remaining
        </span>
      </div>
      <p className="muted small">{caption}</p>
    </section>
  );
}
