import { tool, type FunctionTool } from "@openai/agents";
import type { ToolContext } from "../../tools/define.ts";
import type { ResolvedTool } from "../../tools/run.ts";
import { toolOutputText } from "../history.ts";
import type { ChatKitAgentContext } from "./context.ts";

/** A non-strict JSON object schema as `tool()` takes it (the SDK does not export the type by name). */
type JsonSchemaParameters = { type: "object"; properties: Record<string, any>; required: string[]; additionalProperties: true };

/**
 * A tool of the box (a config `defineTool` with a handler, or an MCP server's) as an SDK
 * function tool: checked with its own schema, run with the ChatKit helpers of the run.
 */
export function sdkTool(resolved: ResolvedTool & { run: NonNullable<ResolvedTool["run"]> }): FunctionTool<ChatKitAgentContext, any, string> {
  return tool<JsonSchemaParameters, ChatKitAgentContext>({
    name: resolved.name,
    description: resolved.description,
    // Sent as the tool's own schema (`additionalProperties` included): the type only satisfies `tool()`.
    parameters: resolved.parameters as unknown as JsonSchemaParameters,
    strict: false,
    async execute(args, runContext, details) {
      const parsed = resolved.validate(args ?? {});
      if (!parsed.ok) return `Error: invalid arguments: ${parsed.error}`;
      const chatkit = runContext!.context;
      const context: ToolContext = { ...chatkit, callId: details?.toolCall?.callId ?? "", askUser: chatkit.askUser };
      const outcome = await resolved.run(parsed.value, context);
      return outcome.ok ? toolOutputText(outcome.output) : `Error: ${outcome.error}`;
    },
  });
}

/** The box's tools an SDK agent is offered: those that run on the server (browser tools need the page). */
export function sdkTools(tools: ResolvedTool[]): Array<FunctionTool<ChatKitAgentContext, any, string>> {
  return tools.filter((resolved): resolved is ResolvedTool & { run: NonNullable<ResolvedTool["run"]> } => resolved.run !== undefined).map(sdkTool);
}
