import type { Attachment } from "../protocol/items.ts";

/** One turn of conversation as the model sees it, independent of the upstream's wire format. */
export interface ModelMessage {
  role: "user" | "assistant";
  text: string;
  /** Files the user sent with this message. */
  attachments?: Attachment[];
}

export interface ModelRequest {
  model: string;
  instructions: string;
  messages: ModelMessage[];
  temperature?: number | undefined;
  maxOutputTokens?: number | undefined;
}

/**
 * What the conversation needs from a model: a stream of text deltas. The OpenAI-backed runner
 * and the built-in local responder both implement it, so tests can script either.
 */
export interface ModelRunner {
  /** Said at start-up and in logs, e.g. `gpt-4.1-mini via responses at https://…`. */
  readonly description: string;
  /** True for the built-in local responder (no upstream configured). */
  readonly isLocal: boolean;
  streamText(request: ModelRequest, signal: AbortSignal): AsyncIterable<string>;
}

/** The upstream failed (HTTP error, timeout, broken stream); what it said so far may be kept. */
export class UpstreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamError";
  }
}

/** Collects a whole reply; for short side requests such as titles. */
export async function completeText(runner: ModelRunner, request: ModelRequest, signal: AbortSignal): Promise<string> {
  let text = "";
  for await (const delta of runner.streamText(request, signal)) text += delta;
  return text;
}
