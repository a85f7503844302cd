import { useEffect, useRef } from "react";

/**
 * Edit and delete (with a confirming second step) for one row of an admin list.
 * The buttons' names include the row's name, so each is told apart by ear too;
 * focus follows the step, so a keyboard user is never left on a button that vanished.
 */
export function RowActions({
  name,
  confirming,
  onEdit,
  onAsk,
  onConfirm,
  onKeep,
}: {
  name: string;
  confirming: boolean;
  onEdit: () => void;
  /** Null when the row cannot be deleted. */
  onAsk: (() => void) | null;
  onConfirm: () => void;
  onKeep: () => void;
}) {
  const about = <span className="sr-only"> {name}</span>;
  const confirm = useRef<HTMLButtonElement>(null);
  const ask = useRef<HTMLButtonElement>(null);
  const asked = useRef(confirming);
  useEffect(() => {
    if (confirming !== asked.current) {
      (confirming ? confirm : ask).current?.focus();
      asked.current = confirming;
    }
  }, [confirming]);
  return (
    <div className="row-actions">
      <button type="button" className="btn btn-small btn-ghost" onClick={onEdit}>
        Edit{about}
      </button>
      {confirming ? (
        <>
          <button ref={confirm} type="button" className="btn btn-small btn-danger" onClick={onConfirm}>
            Confirm delete{about}
          </button>
          <button type="button" className="btn btn-small btn-ghost" onClick={onKeep}>
            Keep{about}
          </button>
        </>
      ) : (
        onAsk && (
          <button ref={ask} type="button" className="btn btn-small btn-danger-ghost" onClick={onAsk}>
            Delete{about}
          </button>
        )
      )}
    </div>
  );
}
