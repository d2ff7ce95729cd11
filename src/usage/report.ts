import type { UsageRow } from "../store/index.ts";

/** Usage summed per UTC day, user, agent, model and kind: what the admin page charts and the CLI prints. */
export interface UsageSummaryRow {
  day: string;
  user: string;
  agent: string;
  model: string;
  kind: UsageRow["kind"];
  count: number;
  input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  /** Rows of the group whose upstream reported no usage (their tokens are not in the sums). */
  unreported: number;
  failed: number;
  tool_calls: number;
  mcp_calls: number;
}

/** Sums usage rows by day, user (named by `nameOf`), agent, model and kind, in that order. */
export function summarizeUsage(rows: UsageRow[], nameOf: (userId: string) => string, byDay = true): UsageSummaryRow[] {
  const groups = new Map<string, UsageSummaryRow>();
  for (const row of rows) {
    const day = byDay ? new Date(row.started_at).toISOString().slice(0, 10) : "";
    const user = nameOf(row.user_id);
    const key = [day, user, row.agent_id, row.model, row.kind].join("\u0000");
    let group = groups.get(key);
    if (!group) {
      group = { day, user, agent: row.agent_id, model: row.model, kind: row.kind, count: 0, input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, unreported: 0, failed: 0, tool_calls: 0, mcp_calls: 0 };
      groups.set(key, group);
    }
    group.count++;
    group.input_tokens += row.input_tokens ?? 0;
    group.output_tokens += row.output_tokens ?? 0;
    group.reasoning_tokens += row.reasoning_tokens ?? 0;
    group.cached_tokens += row.cached_tokens ?? 0;
    if (row.reported_calls === 0) group.unreported++;
    if (row.outcome === "failed") group.failed++;
    group.tool_calls += row.tool_calls;
    group.mcp_calls += row.mcp_calls;
  }
  return [...groups.values()].sort((a, b) => a.day.localeCompare(b.day) || a.user.localeCompare(b.user) || a.agent.localeCompare(b.agent) || a.model.localeCompare(b.model) || a.kind.localeCompare(b.kind));
}

const CSV_COLUMNS: Array<keyof UsageSummaryRow> = ["day", "user", "agent", "model", "kind", "count", "input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "unreported", "failed", "tool_calls", "mcp_calls"];

/** RFC 4180 CSV of summary rows, with a header line; a cell starting like a formula is quoted with a leading apostrophe. */
export function usageCsv(rows: UsageSummaryRow[]): string {
  const cell = (value: unknown) => {
    let text = String(value);
    if (/^[=+\-@]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [CSV_COLUMNS.join(","), ...rows.map((row) => CSV_COLUMNS.map((column) => cell(row[column])).join(","))].join("\r\n") + "\r\n";
}
