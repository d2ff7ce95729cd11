import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceParser } from "eventsource-parser";
import { UpstreamError } from "./runner.ts";

/** The longest one upstream event may be (an image generation's base64 result is the largest). */
export const MAX_UPSTREAM_EVENT_CHARS = 64 * 2 ** 20;

const NONE: readonly unknown[] = Object.freeze([]);

/**
 * Decodes an OpenAI-compatible Server-Sent-Events body into its JSON events, synchronously:
 * `feed` takes the bytes of one chunk and answers every event they completed, so a chunk costs
 * one call rather than a chain of async iterators per event. Follows the `openai` client's
 * reading: `[DONE]` ends the stream, a payload with an `error` (how Chat Completions servers
 * report a failure mid-stream) or an `event: error` fails it, data that is not JSON fails it.
 * Event framing (CR/LF variants, multi-line data, comments) is `eventsource-parser`'s.
 */
export class UpstreamEventDecoder {
  private readonly text = new StringDecoder("utf8");
  private readonly parser: EventSourceParser;
  private events: unknown[] = [];
  private failure: Error | undefined;
  private done = false;

  constructor() {
    this.parser = createParser({
      maxBufferSize: MAX_UPSTREAM_EVENT_CHARS,
      onEvent: (event) => {
        if (this.done || this.failure) return;
        if (event.data.startsWith("[DONE]")) {
          this.done = true;
          return;
        }
        let data: unknown;
        try {
          data = JSON.parse(event.data);
        } catch {
          this.failure = new UpstreamError(`the model sent an event that is not JSON: ${event.data.slice(0, 200)}`);
          return;
        }
        const error = (data as { error?: unknown } | null)?.error;
        if (event.event === "error" || (error !== undefined && error !== null)) {
          this.failure = new UpstreamError(`the model stream reported an error: ${messageOf(error ?? data)}`);
          return;
        }
        this.events.push(data);
      },
      onError: (error) => {
        if (error.type === "max-buffer-size-exceeded") this.failure = new UpstreamError(`the model sent an event longer than ${MAX_UPSTREAM_EVENT_CHARS} characters`);
      },
    });
  }

  /** The events the chunk completed, in order; throws once the stream has failed. */
  feed(chunk: Buffer | Uint8Array): readonly unknown[] {
    if (!this.done) this.parser.feed(this.text.write(chunk as Buffer));
    if (this.failure) throw this.failure;
    if (this.events.length === 0) return NONE;
    const events = this.events;
    this.events = [];
    return events;
  }
}

function messageOf(error: unknown): string {
  if (typeof error === "string") return error;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : JSON.stringify(error)?.slice(0, 500) ?? "no reason given";
}
