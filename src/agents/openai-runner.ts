import OpenAI from "openai";
import type { ChatCompletionContentPart, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { ResponseInputContent, ResponseInputItem } from "openai/resources/responses/responses";
import type { ModelInputOptions } from "../attachments/model-input.ts";
import type { Attachment } from "../protocol/items.ts";
import { UpstreamError, type ModelRequest, type ModelRunner } from "./runner.ts";

/** Turns a message's attachments into each upstream flavour's content parts. */
export interface AttachmentParts {
  responses(attachments: Attachment[], options: ModelInputOptions): Promise<ResponseInputContent[]>;
  chat(attachments: Attachment[], options: ModelInputOptions): Promise<ChatCompletionContentPart[]>;
}

export interface OpenAIRunnerOptions {
  client: OpenAI;
  api: "responses" | "chat_completions";
  /** Give up when the upstream sends nothing for this long (before or during the stream). */
  idleTimeoutMs: number;
  attachmentParts: AttachmentParts;
  /** Whether the model takes images (the agent's `vision`). */
  vision: boolean;
  /** Told the tokens an answer used, when the upstream reports them (metrics). */
  onUsage?: (usage: { input: number; output: number }) => void;
}

/**
 * Streams from any OpenAI-compatible upstream through the `openai` package: the Responses API,
 * or Chat Completions for servers that only speak that (Ollama, vLLM, llama.cpp, LM Studio).
 */
export class OpenAIRunner implements ModelRunner {
  readonly isLocal = false;
  readonly description: string;

  constructor(private readonly options: OpenAIRunnerOptions) {
    this.description = `${options.api} at ${options.client.baseURL}`;
  }

  async *streamText(request: ModelRequest, signal: AbortSignal): AsyncIterable<string> {
    const upstream = new AbortController();
    const onAbort = () => upstream.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    const resetIdleTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        upstream.abort(new UpstreamError("idle timeout"));
      }, this.options.idleTimeoutMs);
    };
    resetIdleTimer();
    try {
      const deltas = this.options.api === "responses" ? this.responses(request, upstream.signal) : this.chat(request, upstream.signal);
      for await (const delta of deltas) {
        resetIdleTimer();
        yield delta;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (idle) throw new UpstreamError(`the model sent nothing for ${this.options.idleTimeoutMs} ms`);
      if (error instanceof UpstreamError) throw error;
      const status = error instanceof OpenAI.APIError && error.status ? ` (HTTP ${error.status})` : "";
      throw new UpstreamError(`the model request failed${status}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  private async *responses(request: ModelRequest, signal: AbortSignal): AsyncIterable<string> {
    const input: ResponseInputItem[] = [];
    for (const message of request.messages) {
      if (message.role === "assistant") {
        input.push({ role: "assistant", content: message.text });
      } else {
        const files = message.attachments?.length ? await this.options.attachmentParts.responses(message.attachments, { images: this.options.vision }) : [];
        input.push({ role: "user", content: [{ type: "input_text", text: message.text }, ...files] });
      }
    }
    const stream = await this.options.client.responses.create(
      {
        model: request.model,
        instructions: request.instructions,
        input,
        stream: true,
        store: false,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxOutputTokens !== undefined ? { max_output_tokens: request.maxOutputTokens } : {}),
      },
      { signal },
    );
    let finished = false;
    for await (const event of stream) {
      switch (event.type) {
        case "response.output_text.delta":
          if (event.delta) yield event.delta;
          break;
        case "response.completed":
        case "response.incomplete":
          finished = true;
          if (event.response.usage) this.options.onUsage?.({ input: event.response.usage.input_tokens, output: event.response.usage.output_tokens });
          break;
        case "response.failed":
          throw new UpstreamError(`the model failed: ${event.response.error?.message ?? "no reason given"}`);
        case "error":
          throw new UpstreamError(`the model stream reported an error: ${event.message}`);
      }
    }
    if (!finished) throw new UpstreamError("the model stream ended before the response completed");
  }

  private async *chat(request: ModelRequest, signal: AbortSignal): AsyncIterable<string> {
    const messages: ChatCompletionMessageParam[] = [{ role: "system", content: request.instructions }];
    for (const message of request.messages) {
      if (message.role === "assistant") {
        messages.push({ role: "assistant", content: message.text });
      } else if (message.attachments?.length) {
        const files = await this.options.attachmentParts.chat(message.attachments, { images: this.options.vision });
        messages.push({ role: "user", content: [{ type: "text", text: message.text }, ...files] });
      } else {
        messages.push({ role: "user", content: message.text });
      }
    }
    const stream = await this.options.client.chat.completions.create(
      {
        model: request.model,
        messages,
        stream: true,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxOutputTokens !== undefined ? { max_tokens: request.maxOutputTokens } : {}),
      },
      { signal },
    );
    let finished = false;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) yield choice.delta.content;
      if (choice?.finish_reason) finished = true;
      if (chunk.usage) this.options.onUsage?.({ input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens });
    }
    if (!finished) throw new UpstreamError("the model stream ended before a finish reason");
  }
}
