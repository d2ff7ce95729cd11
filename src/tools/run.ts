import { z } from "zod";
import type { ToolContext, ToolDefinition } from "./define.ts";

/** A tool as the model is offered it; the JSON schema comes from zod's own export. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

const specs = new WeakMap<ToolDefinition, ToolSpec>();

export function toolSpec(tool: ToolDefinition): ToolSpec {
  let spec = specs.get(tool);
  if (!spec) {
    // `io: "input"`: fields with defaults are optional for the model, as they are for the parser.
    const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.parameters, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    spec = { name: tool.name, description: tool.description, parameters };
    specs.set(tool, spec);
  }
  return spec;
}

export type ParsedArguments = { ok: true; value: unknown } | { ok: false; error: string };

/** The model's JSON arguments checked with the tool's own schema. */
export function parseToolArguments(tool: ToolDefinition, raw: string): ParsedArguments {
  let json: unknown;
  try {
    json = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch {
    return { ok: false, error: "the arguments are not valid JSON" };
  }
  const parsed = tool.parameters.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: parsed.error.issues.map((issue) => `${issue.path.join(".") || "(arguments)"}: ${issue.message}`).join("; ") };
}

/** What the user sees while the tool runs. */
export function toolTitle(tool: ToolDefinition, args: unknown): string {
  if (typeof tool.title === "function") {
    try {
      return tool.title(args as never);
    } catch {
      return tool.name;
    }
  }
  return tool.title ?? `Running ${tool.name}`;
}

export type ToolOutcome = { ok: true; output: unknown } | { ok: false; error: string };

/** Runs a server tool's handler; a throw becomes a failed outcome the model is told about. */
export async function runToolHandler(tool: ToolDefinition, args: unknown, context: ToolContext): Promise<ToolOutcome> {
  if (!tool.handler) return { ok: false, error: `${tool.name} runs in the browser, not on the server` };
  try {
    return { ok: true, output: await tool.handler(args as never, context) };
  } catch (error) {
    if (context.signal.aborted) throw error;
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
