/** One table for the whole run: a row per measurement, with the target it is held to. */
export interface Row {
  /** The workload; empty on the rows that continue the one above. */
  workload: string;
  metric: string;
  ours: string;
  peer: string;
  bare: string;
  /** Ours against the bare Koa route (a share for rates, a multiple or a difference for costs). */
  vsBare: string;
  /** Ours against the peer. */
  vsPeer: string;
  /** The peer against the bare Koa route. */
  peerVsBare?: string;
  /** The target this row is held to, if it has one. */
  target: string;
  /** Whether this run met the target; undefined when the row has none. */
  met?: boolean | undefined;
}

const COLUMNS: Array<[keyof Row, string]> = [
  ["workload", "workload"],
  ["metric", "metric"],
  ["ours", "ours (SQLite)"],
  ["peer", "peer (in-memory)"],
  ["bare", "bare Koa"],
  ["vsBare", "ours vs bare"],
  ["peerVsBare", "peer vs bare"],
  ["vsPeer", "ours vs peer"],
  ["target", "target"],
  ["met", "met"],
];

const cell = (row: Row, key: keyof Row): string => {
  const value = row[key];
  if (key === "met") return value === undefined ? "" : value ? "yes" : "NO";
  return String(value ?? "");
};

/** A Markdown table, so the same text reads in a terminal and pastes into bench/README.md. */
export function formatTable(rows: Row[]): string {
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((row) => cell(row, key).length)));
  const line = (cells: string[]) => `| ${cells.map((text, i) => text.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(COLUMNS.map(([, title]) => title)),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map((row) => line(COLUMNS.map(([key]) => cell(row, key)))),
  ].join("\n");
}
