import { Icon } from "./Icon";

export interface PagerProps {
  offset: number;
  limit: number;
  shown: number;
  /** Null when the server's total is not readable: paging then relies on a full page. */
  total: number | null;
  onPage: (offset: number) => void;
}

export function Pager({ offset, limit, shown, total, onPage }: PagerProps) {
  const hasPrevious = offset > 0;
  const hasNext = total === null ? shown === limit : offset + shown < total;
  if (!hasPrevious && !hasNext) {
    return null;
  }
  const page = Math.floor(offset / limit) + 1;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / limit));
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="btn btn-ghost" disabled={!hasPrevious} onClick={() => onPage(Math.max(0, offset - limit))}>
        <Icon name="left" size={16} /> Previous
      </button>
      <span className="muted">
        Page {page}
        {pages !== null && ` of ${pages}`}
      </span>
      <button type="button" className="btn btn-ghost" disabled={!hasNext} onClick={() => onPage(offset + limit)}>
        Next <Icon name="right" size={16} />
      </button>
    </nav>
  );
}
