import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionContentPart, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { ResponseInputContent, ResponseInputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import type { ModelInputOptions } from "../attachments/model-input.ts";
import type { Attachment } from "../protocol/items.ts";
import { citationSource, hostedCallOf, hostedRecord } from "./hosted.ts";
import { UpstreamError, type ModelEvent, type ModelRequest, type ModelRunner } from "./runner.ts";
import { UpstreamEventDecoder } from "./upstream-events.ts";
import { upstreamChunks } from "./upstream-fetch.ts";

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
  /**
   * Takes one of the box's upstream slots before each request (its release function), or throws
   * the refusal, which ends the turn as it is: it is not an upstream failure, and never retried.
   */
  acquireSlot: () => () => void;
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

  /**
   * One model call. The request goes through the `openai` client (URL, auth, retries, errors);
   * its event stream is read here, chunk by chunk, with one async step per chunk rather than
   * several per event: relaying a delta is what a streamed turn mostly costs.
   */
  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
    const releaseSlot = this.options.acquireSlot();
    const upstream = new AbortController();
    // Freed once the answer ended or the request was aborted, even while the consumer still holds this generator.
    upstream.signal.addEventListener("abort", releaseSlot, { once: true });
    const onAbort = () => upstream.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const watchdog = new IdleWatchdog(this.options.idleTimeoutMs, () => upstream.abort(new UpstreamError("idle timeout")));
    let complete = false;
    try {
      const call = this.options.api === "responses" ? await this.responses(request, upstream.signal) : await this.chat(request, upstream.signal);
      watchdog.heard();
      const decoder = new UpstreamEventDecoder();
      const out: ModelEvent[] = [];
      for await (const chunk of upstreamChunks(call.response)) {
        watchdog.heard();
        for (const event of decoder.feed(chunk)) call.translate(event, out);
        if (out.length === 0) continue;
        for (const event of out) yield event;
        out.length = 0;
      }
      releaseSlot();
      call.end(out);
      complete = true;
      for (const event of out) yield event;
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (watchdog.expired) throw new UpstreamError(`the model sent nothing for ${this.options.idleTimeoutMs} ms`);
      if (error instanceof UpstreamError) throw error;
      const status = error instanceof OpenAI.APIError && error.status ? ` (HTTP ${error.status})` : "";
      throw new UpstreamError(`the model request failed${status}: ${(error as Error).message}`, { cause: error });
    } finally {
      watchdog.stop();
      signal.removeEventListener("abort", onAbort);
      // A consumer that stops early (or a failure) leaves no request open upstream. Not after a
      // complete answer: the connection is reused, and an abort costs more than the rest.
      if (!complete && !upstream.signal.aborted) upstream.abort();
      releaseSlot();
    }
  }

  private async responses(request: ModelRequest, signal: AbortSignal): Promise<UpstreamCall> {
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
    const response = await this.options.client.responses
      .create(
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
    )
      .asResponse();
    let finished = false;
    // Summary parts are numbered per reasoning item upstream; ours number them across this call.
    const summaryIndex = new Map<string, number>();
    const indexOf = (itemId: string, part: number) => {
      const key = `${itemId}:${part}`;
      if (!summaryIndex.has(key)) summaryIndex.set(key, summaryIndex.size);
      return summaryIndex.get(key)!;
    };
    const onUsage = this.options.onUsage;
    return {
      response,
      translate(data, out) {
        const event = data as ResponseStreamEvent;
        switch (event.type) {
          case "response.output_text.delta":
            if (event.delta) out.push({ type: "text.delta", delta: event.delta });
            break;
          case "response.reasoning_summary_text.delta":
            out.push({ type: "reasoning.delta", index: indexOf(event.item_id, event.summary_index), delta: event.delta });
            break;
          case "response.reasoning_summary_text.done":
            out.push({ type: "reasoning.done", index: indexOf(event.item_id, event.summary_index), text: event.text });
            break;
          case "response.output_text.annotation.added": {
            const source = citationSource(event.annotation);
            if (source) out.push({ type: "citation", source });
            break;
          }
          case "response.output_item.added": {
            const call = hostedCallOf(event.item, false);
            if (call) out.push({ type: "hosted_call", call });
            break;
          }
          case "response.image_generation_call.partial_image":
            out.push({ type: "image", id: event.item_id, base64: event.partial_image_b64, partial: true });
            break;
          case "response.output_item.done": {
            const item = event.item;
            if (item.type === "function_call") {
              out.push({ type: "tool_call", callId: item.call_id, name: item.name, arguments: item.arguments });
            } else if (item.type === "image_generation_call") {
              if (item.result) out.push({ type: "image", id: item.id, base64: item.result, partial: false, record: hostedRecord(item) });
            } else {
              const call = hostedCallOf(item, true);
              if (call) out.push({ type: "hosted_call", call, record: hostedRecord(item) });
            }
            break;
          }
          case "response.completed":
          case "response.incomplete":
            finished = true;
            if (event.response.usage) onUsage?.({ input: event.response.usage.input_tokens, output: event.response.usage.output_tokens });
            break;
          case "response.failed":
            throw new UpstreamError(`the model failed: ${event.response.error?.message ?? "no reason given"}`);
          case "error":
            throw new UpstreamError(`the model stream reported an error: ${event.message}`);
        }
      },
      end() {
        if (!finished) throw new UpstreamError("the model stream ended before the response completed");
      },
    };
  }

  private async chat(request: ModelRequest, signal: AbortSignal): Promise<UpstreamCall> {
    const messages: ChatCompletionMessageParam[] = [{ role: "system", content: request.instructions }];
    let lastRound: string | undefined;
    for (const message of request.messages) {
      if (message.role === "hosted") continue;
      if (message.role === "assistant") {
        messages.push({ role: "assistant", content: message.text });
      } else if (message.role === "tool") {
        // Calls of one round share one assistant message, followed by one tool message each; a
        // later round (the model called again after reading the outputs) is a new message.
        const call = { id: message.callId, type: "function" as const, function: { name: message.name, arguments: message.arguments } };
        const previous = messages.at(-1);
        const lastAssistant = previous?.role === "tool" ? [...messages].reverse().find((m) => m.role !== "tool") : previous;
        const sameRound = previous?.role === "tool" && (message.round === undefined || message.round === lastRound);
        lastRound = message.round;
        if (lastAssistant?.role === "assistant" && (sameRound || (previous?.role === "assistant" && !lastAssistant.tool_calls))) {
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
    const response = await this.options.client.chat.completions
      .create(
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
    )
      .asResponse();
    let finished = false;
    let reasoning = "";
    // Tool calls stream in pieces keyed by index: the first piece has the id and name.
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    const onUsage = this.options.onUsage;
    return {
      response,
      translate(data, out) {
        const chunk = data as ChatCompletionChunk;
        const choice = chunk.choices?.[0];
        // Local servers (vLLM, llama.cpp, DeepSeek-style) stream thinking as `reasoning_content`.
        const thinking = (choice?.delta as { reasoning_content?: string } | undefined)?.reasoning_content;
        if (thinking) {
          reasoning += thinking;
          out.push({ type: "reasoning.delta", index: 0, delta: thinking });
        }
        if (choice?.delta?.content) {
          if (reasoning) {
            out.push({ type: "reasoning.done", index: 0, text: reasoning });
            reasoning = "";
          }
          out.push({ type: "text.delta", delta: choice.delta.content });
        }
        for (const piece of choice?.delta?.tool_calls ?? []) {
          // Some compatible servers leave out `index` (one call per chunk) or repeat the name in every chunk.
          const call = (calls[piece.index ?? calls.length] ??= { id: "", name: "", arguments: "" });
          if (piece.id) call.id = piece.id;
          if (piece.function?.name) call.name = piece.function.name;
          if (piece.function?.arguments) call.arguments += piece.function.arguments;
        }
        if (choice?.finish_reason) finished = true;
        if (chunk.usage) onUsage?.({ input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens });
      },
      end(out) {
        if (!finished) throw new UpstreamError("the model stream ended before a finish reason");
        if (reasoning) out.push({ type: "reasoning.done", index: 0, text: reasoning });
        for (const [index, call] of calls.entries()) {
          if (!call) continue;
          out.push({ type: "tool_call", callId: call.id || `call_${index}`, name: call.name, arguments: call.arguments || "{}" });
        }
      },
    };
  }
}

/** A model call under way: its streamed answer, and how its events become ours. */
interface UpstreamCall {
  response: Response;
  /** Appends the model events one upstream event means to `out`; throws when it reports a failure. */
  translate(event: unknown, out: ModelEvent[]): void;
  /** After the last event: what the call still owes (complete tool calls), or why it is incomplete. */
  end(out: ModelEvent[]): void;
}

/**
 * Fires `onIdle` once nothing was heard for `ms`. Hearing something costs one clock read, not a
 * timer per chunk: the one timer re-arms itself for the time left when it fires early.
 */
class IdleWatchdog {
  private last = Date.now();
  private timer: NodeJS.Timeout;
  expired = false;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(this.check, ms);
  }

  heard(): void {
    this.last = Date.now();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly check = () => {
    const quiet = Date.now() - this.last;
    if (quiet < this.ms) {
      this.timer = setTimeout(this.check, this.ms - quiet);
      return;
    }
    this.expired = true;
    this.onIdle();
  };
}
