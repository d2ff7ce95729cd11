import type { Attachment, Source } from "../protocol/items.ts";
import type { HostedTool } from "../config/tools.ts";
import type { HostedCall } from "./hosted.ts";

/**
 * One entry of the conversation as the model sees it, independent of the upstream's wire format.
 * A tool call and its output travel as one entry, so trimming history never separates them.
 */
export type ModelMessage =
  | { role: "user"; text: string; /** Files the user sent with this message. */ attachments?: Attachment[] }
  | { role: "assistant"; text: string }
  | {
      role: "tool";
      callId: string;
      name: string;
      /** JSON text, as the model wrote it. */
      arguments: string;
      output: string;
      /** Calls made in one model response share it, so they are replayed as one response. */
      round?: string | undefined;
    }
  /** A hosted tool's call (web search, image generation, ...) in the Responses API's own form; other flavours skip it. */
  | { role: "hosted"; item: Record<string, unknown> };

/** A function the model may call: its parameters as a JSON schema. */
export interface ModelTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** `auto` lets the model choose, `none` forbids tools, a name forces that tool. */
export type ModelToolChoice = "auto" | "none" | { name: string };

export interface ModelRequest {
  model: string;
  instructions: string;
  messages: ModelMessage[];
  temperature?: number | undefined;
  maxOutputTokens?: number | undefined;
  tools?: ModelTool[];
  toolChoice?: ModelToolChoice;
  /** OpenAI's hosted tools, passed through (Responses API only). */
  hostedTools?: HostedTool[];
  /** Reasoning models only: effort, and whether summaries of the reasoning stream. */
  reasoning?: { effort?: "minimal" | "low" | "medium" | "high" | undefined; summary?: "auto" | "concise" | "detailed" | undefined } | undefined;
}

/** What a model streams, whichever upstream flavour it speaks. */
export type ModelEvent =
  | { type: "text.delta"; delta: string }
  /** Reasoning summaries (reasoning models): `index` numbers the summary part within the turn. */
  | { type: "reasoning.delta"; index: number; delta: string }
  | { type: "reasoning.done"; index: number; text: string }
  /** A complete function call: emitted once its arguments have fully arrived. */
  | { type: "tool_call"; callId: string; name: string; arguments: string }
  /** A source the text being written cites (web or file search). */
  | { type: "citation"; source: Source }
  /** A hosted tool at work; once done, `record` is what later turns send back. */
  | { type: "hosted_call"; call: HostedCall; record?: Record<string, unknown> }
  /** A generated image: partial previews, then the final one (base64), with its `record` for later turns. */
  | { type: "image"; id: string; base64: string; partial: boolean; record?: Record<string, unknown> };

/**
 * What the conversation needs from a model: a stream of typed events. The OpenAI-backed runner
 * and the built-in local responder both implement it, so tests can script either.
 */
export interface ModelRunner {
  /** Said at start-up and in logs, e.g. `gpt-4.1-mini via responses at https://…`. */
  readonly description: string;
  /** True for the built-in local responder (no upstream configured). */
  readonly isLocal: boolean;
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent>;
}

/** The upstream failed (HTTP error, timeout, broken stream); what it said so far may be kept. */
export class UpstreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamError";
  }
}

/** Collects a whole text reply; for short side requests such as titles. */
export async function completeText(runner: ModelRunner, request: ModelRequest, signal: AbortSignal): Promise<string> {
  let text = "";
  for await (const event of runner.stream(request, signal)) if (event.type === "text.delta") text += event.delta;
  return text;
}
