import type { Context } from "koa";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { Logger } from "../core/logger.ts";

export interface EventStreamOptions {
  /** Milliseconds of silence after which a `: keep-alive` comment is sent; 0 sends none. */
  heartbeatMs: number;
  logger: Logger;
  /** Aborted when the client goes away (the protocol's cancel); writing stops then. */
  clientGone: AbortSignal;
  /** Called for each `error` event sent (metrics). */
  onError?: () => void;
}

/** One SSE frame: `data: <compact JSON>` and a blank line (protocol reference, section 1). */
export function sseFrame(event: ThreadStreamEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/**
 * Streams events as Server-Sent Events, flushing each as it comes. Once the client is gone the
 * rest of the events are drained unwritten, so the producer can finish its bookkeeping (saving
 * a partial answer) before the request ends. A producer that
 * throws ends the stream with an `error` event, never a dropped connection.
 */
export async function sendEventStream(
  ctx: Context,
  events: AsyncIterable<ThreadStreamEvent>,
  options: EventStreamOptions,
): Promise<void> {
  const { res } = ctx;
  ctx.respond = false;
  res.socket?.setNoDelay(true);
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();

  let open = !options.clientGone.aborted;
  const onGone = () => {
    open = false;
  };
  options.clientGone.addEventListener("abort", onGone, { once: true });

  const write = async (chunk: string) => {
    if (!open) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
    lastWrite = Date.now();
  };

  let lastWrite = Date.now();
  const heartbeat =
    options.heartbeatMs > 0
      ? setInterval(() => {
          if (open && Date.now() - lastWrite >= options.heartbeatMs) void write(": keep-alive\n\n");
        }, Math.max(250, Math.floor(options.heartbeatMs / 2)))
      : undefined;

  try {
    for await (const event of events) {
      if (event.type === "error") options.onError?.();
      await write(sseFrame(event));
    }
  } catch (error) {
    options.logger.error("event stream failed", error);
    options.onError?.();
    await write(sseFrame({ type: "error", code: "stream.error", allow_retry: true }));
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    options.clientGone.removeEventListener("abort", onGone);
    if (open) res.end();
  }
}
