import { z } from "zod";
import { BROWSER_TOOL_NAMES } from "../protocol/browser-tools.ts";
import { defineTool, type ToolDefinition } from "./define.ts";

/**
 * Client tools the built-in web client runs in the user's browser: the time and time zone, the
 * locale, and copying text to the clipboard. Give an agent `tools: [...browserTools]` (or some of
 * them); a page that cannot run one answers with an `unknown_client_tool` error output.
 */
export const browserTools: ToolDefinition[] = [
  defineTool({
    name: BROWSER_TOOL_NAMES.time,
    description: "The current date and time in the user's browser, with its time zone and UTC offset.",
    parameters: z.object({}),
  }),
  defineTool({
    name: BROWSER_TOOL_NAMES.locale,
    description: "The user's preferred locale and languages as their browser reports them, and their time zone.",
    parameters: z.object({}),
  }),
  defineTool({
    name: BROWSER_TOOL_NAMES.copy,
    description: "Copies text to the user's clipboard (for something they asked to copy).",
    parameters: z.object({ text: z.string().max(100_000).describe("The text to copy") }),
  }),
];
