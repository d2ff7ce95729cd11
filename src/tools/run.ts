import type { AgentConfig } from "../config/schema.ts";
import { toolParametersJsonSchema } from "../config/tools.ts";
import { toolDefinition, type ToolContext, type ToolDefinition, type ToolDisplay } from "./define.ts";

/** A tool as the model is offered it; the JSON schema comes from zod's own export. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type ParsedArguments = { ok: true; value: unknown } | { ok: false; error: string };

export type ToolOutcome = { ok: true; output: unknown } | { ok: false; error: string };

/**
 * A tool ready for the tool loop, whatever it came from: a `defineTool` from the config (zod)
 * or a tool an MCP server listed (JSON schema). The loop only sees this shape.
 */
export interface ResolvedTool extends ToolSpec {
  /** Checks already-decoded JSON arguments against the tool's own schema. */
  validate(json: unknown): ParsedArguments;
  /** What the user sees while it runs. */
  title(args: unknown): string;
  display: ToolDisplay;
  /** The user must approve each call in the thread before it runs. */
  requireApproval: boolean;
  /** Runs it on the server; absent for a tool the browser runs. */
  run?: (args: unknown, context: ToolContext) => Promise<ToolOutcome>;
}

/** The config's tools as the tool loop takes them: each agent's resolved once, when first asked for. */
export class ToolRegistry {
  private readonly byAgent = new Map<AgentConfig, ResolvedTool[]>();

  forAgent(agent: AgentConfig): ResolvedTool[] {
    let tools = this.byAgent.get(agent);
    if (!tools) {
      tools = agent.tools.map((tool) => resolveDefinedTool(toolDefinition(tool)));
      this.byAgent.set(agent, tools);
    }
    return tools;
  }
}

/** A config tool (`defineTool`) as the loop uses it (its JSON schema exported once, here). */
export function resolveDefinedTool(tool: ToolDefinition): ResolvedTool {
  const parameters = toolParametersJsonSchema(tool.parameters);
  return {
    name: tool.name,
    description: tool.description,
    parameters,
    validate(json) {
      const parsed = tool.parameters.safeParse(json);
      if (parsed.success) return { ok: true, value: parsed.data };
      return { ok: false, error: parsed.error.issues.map((issue) => `${issue.path.join(".") || "(arguments)"}: ${issue.message}`).join("; ") };
    },
    title(args) {
      if (typeof tool.title !== "function") return tool.title ?? `Running ${tool.name}`;
      try {
        return tool.title(args as never);
      } catch {
        return tool.name;
      }
    },
    display: tool.display ?? "workflow",
    requireApproval: false,
    ...(tool.handler ? { run: (args: unknown, context: ToolContext) => runToolHandler(tool, args, context) } : {}),
  };
}

export function toolSpec(tool: ResolvedTool): ToolSpec {
  return { name: tool.name, description: tool.description, parameters: tool.parameters };
}

/** The model's JSON arguments checked with the tool's own schema. */
export function parseToolArguments(tool: ResolvedTool, raw: string): ParsedArguments {
  let json: unknown;
  try {
    json = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch {
    return { ok: false, error: "the arguments are not valid JSON" };
  }
  return tool.validate(json);
}

/** How long a handler may run unless its definition says otherwise. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;

/** A handler ran past its time limit; its signal was aborted. */
export class HandlerTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    // Sub-second limits in ms: "within 0 s" would tell the model nothing.
    super(`it did not finish within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`);
    this.name = "HandlerTimeoutError";
  }
}

/**
 * Runs `work` with a signal that aborts when `signal` does or after `timeoutMs`. A handler that
 * ignores its signal cannot hold the stream: the timeout rejects with HandlerTimeoutError.
 */
export async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T> | T, signal: AbortSignal, timeoutMs: number): Promise<T> {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new HandlerTimeoutError(timeoutMs)), timeoutMs);
  const combined = AbortSignal.any([signal, timer.signal]);
  const timedOut = new Promise<never>((_, reject) => timer.signal.addEventListener("abort", () => reject(timer.signal.reason), { once: true }));
  try {
    return await Promise.race([Promise.resolve().then(() => work(combined)), timedOut]);
  } finally {
    clearTimeout(handle);
  }
}

/** Runs a config tool's handler; a throw or a timeout becomes a failed outcome the model is told about. */
export async function runToolHandler(tool: ToolDefinition, args: unknown, context: ToolContext): Promise<ToolOutcome> {
  const handler = tool.handler;
  if (!handler) return { ok: false, error: `${tool.name} runs in the browser, not on the server` };
  try {
    const output = await withTimeout((signal) => handler(args as never, { ...context, signal }), context.signal, tool.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS);
    return { ok: true, output };
  } catch (error) {
    if (context.signal.aborted) throw error;
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
