import OpenAI from "openai";
import type { ChatCompletionContentPart, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { ResponseInputContent, ResponseInputItem } from "openai/resources/responses/responses";
import type { ModelInputOptions } from "../attachments/model-input.ts";
import type { Attachment } from "../protocol/items.ts";
import { citationSource, hostedCallOf, hostedRecord } from "./hosted.ts";
import { UpstreamError, type ModelEvent, type ModelRequest, type ModelRunner } from "./runner.ts";

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

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
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
      const events = this.options.api === "responses" ? this.responses(request, upstream.signal, resetIdleTimer) : this.chat(request, upstream.signal, resetIdleTimer);
      for await (const event of events) {
        resetIdleTimer();
        yield event;
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

  private async *responses(request: ModelRequest, signal: AbortSignal, heardFromUpstream: () => void): AsyncIterable<ModelEvent> {
    const input: ResponseInputItem[] = [];
    for (const message of request.messages) {
      if (message.role === "assistant") {
        input.push({ role: "assistant", content: message.text });
      } else if (message.role === "hosted") {
        input.push(message.item as unknown as ResponseInputItem);
      } else if (message.role === "tool") {
        input.push({ type: "function_call", call_id: message.callId, name: message.name, arguments: message.arguments });
        input.push({ type: "function_call_output", call_id: message.callId, output: message.output });
      } else {
        const files = message.attachments?.length ? await this.options.attachmentParts.responses(message.attachments, { images: this.options.vision }) : [];
        input.push({ role: "user", content: [{ type: "input_text", text: message.text }, ...files] });
      }
    }
    // Tools stay declared on a round that forbids them ("none"): the history may hold calls to them.
    const tools = request.tools?.length ? request.tools : undefined;
    const hosted = request.hostedTools?.length ? request.hostedTools : undefined;
    const stream = await this.options.client.responses.create(
      {
        model: request.model,
        instructions: request.instructions,
        input,
        stream: true,
        store: false,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxOutputTokens !== undefined ? { max_output_tokens: request.maxOutputTokens } : {}),
        ...(request.reasoning ? { reasoning: { ...(request.reasoning.effort ? { effort: request.reasoning.effort } : {}), ...(request.reasoning.summary ? { summary: request.reasoning.summary } : {}) } } : {}),
        ...(tools || hosted
          ? {
              tools: [...(tools ?? []).map((tool) => ({ type: "function" as const, name: tool.name, description: tool.description, parameters: tool.parameters, strict: false })), ...(hosted ?? [])],
              tool_choice: typeof request.toolChoice === "object" ? { type: "function" as const, name: request.toolChoice.name } : (request.toolChoice ?? "auto"),
            }
          : {}),
      },
      { signal },
    );
    heardFromUpstream();
    let finished = false;
    // Summary parts are numbered per reasoning item upstream; ours number them across this call.
    const summaryIndex = new Map<string, number>();
    const indexOf = (itemId: string, part: number) => {
      const key = `${itemId}:${part}`;
      if (!summaryIndex.has(key)) summaryIndex.set(key, summaryIndex.size);
      return summaryIndex.get(key)!;
    };
    for await (const event of stream) {
      switch (event.type) {
        case "response.output_text.delta":
          if (event.delta) yield { type: "text.delta", delta: event.delta };
          break;
        case "response.reasoning_summary_text.delta":
          yield { type: "reasoning.delta", index: indexOf(event.item_id, event.summary_index), delta: event.delta };
          break;
        case "response.reasoning_summary_text.done":
          yield { type: "reasoning.done", index: indexOf(event.item_id, event.summary_index), text: event.text };
          break;
        case "response.output_text.annotation.added": {
          const source = citationSource(event.annotation);
          if (source) yield { type: "citation", source };
          break;
        }
        case "response.output_item.added": {
          const call = hostedCallOf(event.item, false);
          if (call) yield { type: "hosted_call", call };
          break;
        }
        case "response.image_generation_call.partial_image":
          yield { type: "image", id: event.item_id, base64: event.partial_image_b64, partial: true };
          break;
        case "response.output_item.done": {
          const item = event.item;
          if (item.type === "function_call") {
            yield { type: "tool_call", callId: item.call_id, name: item.name, arguments: item.arguments };
          } else if (item.type === "image_generation_call") {
            if (item.result) yield { type: "image", id: item.id, base64: item.result, partial: false, record: hostedRecord(item) };
          } else {
            const call = hostedCallOf(item, true);
            if (call) yield { type: "hosted_call", call, record: hostedRecord(item) };
          }
          break;
        }
        case "response.completed":
        case "response.incomplete":
          finished = true;
          break;
        case "response.failed":
          throw new UpstreamError(`the model failed: ${event.response.error?.message ?? "no reason given"}`);
        case "error":
          throw new UpstreamError(`the model stream reported an error: ${event.message}`);
      }
    }
    if (!finished) throw new UpstreamError("the model stream ended before the response completed");
  }

  private async *chat(request: ModelRequest, signal: AbortSignal, heardFromUpstream: () => void): AsyncIterable<ModelEvent> {
    const messages: ChatCompletionMessageParam[] = [{ role: "system", content: request.instructions }];
    for (const message of request.messages) {
      if (message.role === "hosted") continue;
      if (message.role === "assistant") {
        messages.push({ role: "assistant", content: message.text });
      } else if (message.role === "tool") {
        // Calls of one round share one assistant message, followed by one tool message each.
        const call = { id: message.callId, type: "function" as const, function: { name: message.name, arguments: message.arguments } };
        const previous = messages.at(-1);
        const lastAssistant = previous?.role === "tool" ? [...messages].reverse().find((m) => m.role !== "tool") : previous;
        if (lastAssistant?.role === "assistant" && (previous?.role === "tool" || !lastAssistant.tool_calls)) {
          lastAssistant.tool_calls = [...(lastAssistant.tool_calls ?? []), call];
        } else {
          messages.push({ role: "assistant", content: null, tool_calls: [call] });
        }
        messages.push({ role: "tool", tool_call_id: message.callId, content: message.output });
      } else if (message.attachments?.length) {
        const files = await this.options.attachmentParts.chat(message.attachments, { images: this.options.vision });
        messages.push({ role: "user", content: [{ type: "text", text: message.text }, ...files] });
      } else {
        messages.push({ role: "user", content: message.text });
      }
    }
    const tools = request.tools?.length ? request.tools : undefined;
    const stream = await this.options.client.chat.completions.create(
      {
        model: request.model,
        messages,
        stream: true,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxOutputTokens !== undefined ? { max_tokens: request.maxOutputTokens } : {}),
        ...(request.reasoning?.effort ? { reasoning_effort: request.reasoning.effort } : {}),
        ...(tools
          ? {
              tools: tools.map((tool) => ({ type: "function" as const, function: { name: tool.name, description: tool.description, parameters: tool.parameters } })),
              tool_choice: typeof request.toolChoice === "object" ? { type: "function" as const, function: { name: request.toolChoice.name } } : (request.toolChoice ?? "auto"),
            }
          : {}),
      },
      { signal },
    );
    heardFromUpstream();
    let finished = false;
    let reasoning = "";
    // Tool calls stream in pieces keyed by index: the first piece has the id and name.
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      // Local servers (vLLM, llama.cpp, DeepSeek-style) stream thinking as `reasoning_content`.
      const thinking = (choice?.delta as { reasoning_content?: string } | undefined)?.reasoning_content;
      if (thinking) {
        reasoning += thinking;
        yield { type: "reasoning.delta", index: 0, delta: thinking };
      }
      if (choice?.delta?.content) {
        if (reasoning) {
          yield { type: "reasoning.done", index: 0, text: reasoning };
          reasoning = "";
        }
        yield { type: "text.delta", delta: choice.delta.content };
      }
      for (const piece of choice?.delta?.tool_calls ?? []) {
        // Some compatible servers leave out `index` (one call per chunk) or repeat the name in every chunk.
        const call = (calls[piece.index ?? calls.length] ??= { id: "", name: "", arguments: "" });
        if (piece.id) call.id = piece.id;
        if (piece.function?.name) call.name = piece.function.name;
        if (piece.function?.arguments) call.arguments += piece.function.arguments;
      }
      if (choice?.finish_reason) finished = true;
    }
    if (!finished) throw new UpstreamError("the model stream ended before a finish reason");
    if (reasoning) yield { type: "reasoning.done", index: 0, text: reasoning };
    for (const [index, call] of calls.entries()) {
      if (!call) continue;
      yield { type: "tool_call", callId: call.id || `call_${index}`, name: call.name, arguments: call.arguments || "{}" };
    }
  }
}
