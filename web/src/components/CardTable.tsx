import type { ReactNode } from "react";

export interface Column {
  label: string;
  /** Right-aligned figures. */
  numeric?: boolean;
}

/**
 * A table of rows that turns into one card per row on narrow screens (styles.css,
 * `.table-cards`): each cell names its column with `data-label`, and the row's
 * title cell (`card-title`) heads the card. `actions` adds an unlabelled last column.
 */
export function CardTable({ columns, actions = false, testId, children }: { columns: readonly Column[]; actions?: boolean; testId?: string; children: ReactNode }) {
  return (
    <table className="table table-cards" data-testid={testId}>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.label} scope="col" className={column.numeric ? "num" : undefined}>
              {column.label}
            </th>
          ))}
          {actions && (
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
