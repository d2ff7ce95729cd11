import { BROWSER_TOOL_NAMES, unknownClientToolOutput } from "../../protocol/browser-tools.ts";
import { copyText } from "./clipboard.ts";

type ClientToolOutput = Record<string, unknown>;

const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

const TOOLS: Record<string, (args: Record<string, unknown>) => ClientToolOutput | Promise<ClientToolOutput>> = {
  [BROWSER_TOOL_NAMES.time]: () => {
    const now = new Date();
    return { iso: now.toISOString(), local: now.toString(), time_zone: timeZone(), utc_offset_minutes: -now.getTimezoneOffset() };
  },
  [BROWSER_TOOL_NAMES.locale]: () => ({ locale: navigator.language, languages: [...navigator.languages], time_zone: timeZone() }),
  [BROWSER_TOOL_NAMES.copy]: async (args) => {
    const text = typeof args.text === "string" ? args.text : "";
    await copyText(text);
    return { copied: true, characters: text.length };
  },
};

/** Runs a client tool call in this page: its output, or an error output the model can read. */
export async function runClientTool(name: string, args: Record<string, unknown>): Promise<ClientToolOutput> {
  const tool = TOOLS[name];
  if (!tool) return unknownClientToolOutput(name);
  try {
    return await tool(args);
  } catch (error) {
    return { error: "client_tool_failed", message: `The page could not run "${name}": ${error instanceof Error ? error.message : String(error)}` };
  }
}
