import { z } from "zod";
import type { Tool, WebSearchPreviewTool, WebSearchTool, FileSearchTool } from "openai/resources/responses/responses";

/**
 * What the config knows of a tool: the shape it checks. The full type, with the handler's
 * arguments and context, is `ToolDefinition` (tools/define.ts), which `defineTool` gives.
 */
export interface ConfigTool {
  name: string;
  description: string;
  parameters: z.ZodType;
  handler?: ((args: never, context: never) => unknown) | undefined;
  title?: string | ((args: never) => string);
  display?: "workflow" | "progress" | "hidden";
  timeoutMs?: number;
  composer?: { label: string; icon?: string; shortLabel?: string; placeholderOverride?: string; pinned?: boolean };
}

/** What the config knows of a widget action handler; `defineAction` (tools/define.ts) gives the full type. */
export interface ConfigAction {
  payload?: z.ZodType;
  timeoutMs?: number;
  handler: (action: never, context: never) => unknown;
}

/**
 * OpenAI's hosted tools (Responses API only), written in the config in the API's own shape and
 * passed through as they are: web search, file search over vector stores, code interpreter,
 * image generation and OpenAI-hosted remote MCP.
 */
export type HostedTool = WebSearchTool | WebSearchPreviewTool | FileSearchTool | Tool.CodeInterpreter | Tool.ImageGeneration | Tool.Mcp;
export const HOSTED_TOOL_TYPES = ["web_search", "web_search_preview", "file_search", "code_interpreter", "image_generation", "mcp"] as const;

/**
 * A tool's arguments as the JSON schema the model is sent (zod's own export). `io: "input"`:
 * fields with defaults are optional for the model, as they are for the parser.
 */
export function toolParametersJsonSchema(parameters: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(parameters, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return schema;
}
