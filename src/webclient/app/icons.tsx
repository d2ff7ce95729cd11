import type { JSX } from "preact";

/** Line icons drawn inline (no icon font, no emoji font needed), 24×24, in the text colour. */
const PATHS = {
  attach: "M21 12.5l-8.5 8.5a5 5 0 0 1-7-7L14 5.5a3.5 3.5 0 0 1 5 5L10.5 19a2 2 0 0 1-3-3L15 8.5",
  mic: "M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4",
  copy: "M10 8h9a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zM15 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v9a1 1 0 0 0 1 1h4",
  up: "M7 10v10H4V10h3zm0 0l4-7a2 2 0 0 1 3 2l-1 4h6a2 2 0 0 1 2 2.3l-1.3 7A2 2 0 0 1 17.7 20H7",
  down: "M17 14V4h3v10h-3zm0 0l-4 7a2 2 0 0 1-3-2l1-4H5a2 2 0 0 1-2-2.3l1.3-7A2 2 0 0 1 6.3 4H17",
  retry: "M4 12a8 8 0 1 0 2.3-5.7M4 4v5h5",
  menu: "M4 6h16M4 12h16M4 18h16",
  file: "M6 3h8l5 5v13H6zM14 3v5h5",
  send: "M12 19V5M5 12l7-7 7 7",
  close: "M6 6l12 12M18 6L6 18",
  plus: "M12 5v14M5 12h14",
  sparkle: "M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8zM19 15l.8 2.2L22 18l-2.2.8L19 21l-.8-2.2L16 18l2.2-.8z",
  tool: "M14.7 6.3a4 4 0 0 0-5.4 5.4L3 18l3 3 6.3-6.3a4 4 0 0 0 5.4-5.4l-2.5 2.5-2.5-.5-.5-2.5z",
  chevron: "M6 9l6 6 6-6",
  check: "M5 12l5 5 9-10",
} as const;

export type IconName = keyof typeof PATHS | "stop";

export function Icon({ name, size = 18 }: { name: IconName; size?: number }): JSX.Element {
  return (
    <svg class="ck-icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      {name === "stop" ? (
        <rect x="7" y="7" width="10" height="10" rx="1.5" fill="currentColor" />
      ) : (
        <path d={PATHS[name]} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
      )}
    </svg>
  );
}
