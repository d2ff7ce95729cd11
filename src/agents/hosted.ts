import type { ResponseOutputItem } from "openai/resources/responses/responses";
import type { Source, Task } from "../protocol/items.ts";

/** A hosted tool's call as the turn shows it, whatever the upstream's wire shape. */
export interface HostedCall {
  /** The upstream's item id: the same call reports again when it is done. */
  id: string;
  kind: "web_search" | "file_search" | "code_interpreter" | "mcp";
  done: boolean;
  failed: boolean;
  queries: string[];
  sources: Source[];
  /** Code run, or the MCP tool called. */
  detail?: string;
  /** Logs, or the MCP tool's output or error. */
  output?: string;
}

const OUTPUT_SHOWN = 2_000;
const clip = (text: string) => (text.length > OUTPUT_SHOWN ? `${text.slice(0, OUTPUT_SHOWN)}…` : text);

/** A Responses output item of a hosted tool as a HostedCall; undefined for anything else. */
export function hostedCallOf(item: ResponseOutputItem, done: boolean): HostedCall | undefined {
  const base = { id: item.id ?? "", done, failed: "status" in item && item.status === "failed", queries: [] as string[], sources: [] as Source[] };
  switch (item.type) {
    case "web_search_call": {
      const action = item.action;
      if (action?.type !== "search") return { ...base, kind: "web_search", ...(action && "url" in action && action.url ? { detail: action.url } : {}) };
      const queries = action.queries ?? (action.query ? [action.query] : []);
      const sources = (action.sources ?? []).map((source): Source => ({ type: "url", url: source.url, title: source.url }));
      return { ...base, kind: "web_search", queries, sources };
    }
    case "file_search_call":
      return {
        ...base,
        kind: "file_search",
        queries: item.queries ?? [],
        sources: (item.results ?? []).map((result): Source => ({ type: "file", filename: result.filename ?? result.file_id ?? "file", title: result.filename ?? result.file_id ?? "file" })),
      };
    case "code_interpreter_call": {
      const logs = (item.outputs ?? []).map((output) => (output.type === "logs" ? output.logs : `[image ${output.url}]`)).join("\n");
      return { ...base, kind: "code_interpreter", ...(item.code ? { detail: item.code } : {}), ...(logs ? { output: logs } : {}) };
    }
    case "mcp_call":
      return { ...base, kind: "mcp", failed: Boolean(item.error), detail: `${item.server_label}: ${item.name}`, ...(item.error || item.output ? { output: (item.error ?? item.output)! } : {}) };
    default:
      return undefined;
  }
}

/** A hosted call as the workflow task the user sees. */
export function hostedTask(call: HostedCall): Task {
  const status_indicator = call.done ? "complete" : "loading";
  switch (call.kind) {
    case "web_search":
      return {
        type: "web_search",
        title: call.done ? "Searched the web" : "Searching the web…",
        ...(call.queries[0] ? { title_query: call.queries[0] } : {}),
        queries: call.queries,
        sources: call.sources,
        status_indicator,
      };
    case "file_search":
      return { type: "file", title: call.done ? `Searched files${call.queries.length ? ` for "${call.queries.join('", "')}"` : ""}` : "Searching files…", sources: call.sources, status_indicator };
    case "code_interpreter":
    case "mcp": {
      const running = call.kind === "code_interpreter" ? "Running code…" : `Calling ${call.detail}…`;
      const finished = call.kind === "code_interpreter" ? (call.failed ? "Code failed" : "Ran code") : `${call.failed ? "Failed" : "Called"} ${call.detail}`;
      const body = call.kind === "code_interpreter" ? [call.detail && `\`\`\`\n${call.detail}\n\`\`\``, call.output && `\`\`\`\n${clip(call.output)}\n\`\`\``] : [call.output && clip(call.output)];
      const content = body.filter(Boolean).join("\n\n");
      return { type: "custom", title: call.done ? finished : running, ...(call.done && content ? { content } : {}), status_indicator };
    }
  }
}

/** A citation annotation of the Responses API as a ChatKit source; undefined for other kinds. */
export function citationSource(annotation: unknown): Source | undefined {
  const value = annotation as { type?: string; url?: string; title?: string; filename?: string; file_id?: string };
  if (value.type === "url_citation" && value.url) return { type: "url", url: value.url, title: value.title || value.url };
  if ((value.type === "file_citation" || value.type === "container_file_citation") && (value.filename || value.file_id)) {
    const filename = value.filename || value.file_id!;
    return { type: "file", filename, title: filename };
  }
  return undefined;
}

/** What later turns send back of a hosted call: the item as is, but an image's bytes are stored elsewhere, not resent. */
export function hostedRecord(item: ResponseOutputItem): Record<string, unknown> {
  return item.type === "image_generation_call" ? { ...item, result: null } : { ...item };
}
