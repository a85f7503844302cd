/**
 * Icons drawn inline, so they look the same everywhere: emoji and rare symbols
 * show as empty boxes on systems without a font that has them.
 */

const PATHS = {
  brand: "M12 2.5 21.5 12 12 21.5 2.5 12Z M12 7.5 16.5 12 12 16.5 7.5 12Z",
  menu: "M4 7h16 M4 12h16 M4 17h16",
  close: "M6 6l12 12 M18 6 6 18",
  cart: "M3 4h2l2.4 10.2a2 2 0 0 0 2 1.6h7.7a2 2 0 0 0 1.9-1.5L21 8H6.2 M10 20.2h.01 M17 20.2h.01",
  box: "M3.5 7.5 12 3l8.5 4.5v9L12 21l-8.5-4.5Z M3.5 7.5 12 12l8.5-4.5 M12 12v9",
  search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13Z M15.5 15.5 20 20",
  check: "M5 12.5 10 17.5 19 7",
  cross: "M7 7l10 10 M17 7 7 17",
  dot: "M12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7Z",
  circle: "M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16Z",
  star: "M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.3-4.1 5.9-.9Z",
  question: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6v.6 M12 17h.01",
  wallet: "M4 7.5A2.5 2.5 0 0 1 6.5 5H18v3 M4 7.5v9A2.5 2.5 0 0 0 6.5 19H20V8H6.5A2.5 2.5 0 0 1 4 5.5 M16 13.5h.01",
  left: "M15 5l-7 7 7 7",
  right: "M9 5l7 7-7 7",
  lock: "M7 11V8a5 5 0 0 1 10 0v3 M5.5 11h13v9.5h-13Z",
  offline: "M3 3l18 18 M8.5 16.5a5 5 0 0 1 7 0 M5 12.5a10 10 0 0 1 5-2.7 M14.5 9.9A10 10 0 0 1 19 12.5 M12 20h.01",
} as const;

export type IconName = keyof typeof PATHS;

/** A line icon in the current text colour; decorative (the text beside it says the thing). */
export function Icon({ name, size = 18, className }: { name: IconName; size?: number; className?: string }) {
  const filled = name === "dot" || name === "star";
  return (
    <svg
      className={className ? `icon ${className}` : "icon"}
      viewBox="0 0 24 24"
      width={size}
      height={size}
      aria-hidden="true"
      focusable="false"
      fill={filled ? "currentColor" : "none"}
      stroke="currentColor"
      strokeWidth={filled ? 1 : 2}
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
