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
 * Streams events as Server-Sent Events. The frames of the events produced in one tick (a model
 * chunk, the end of a turn) leave in one write, at the end of that tick: one system call rather
 * than one per event, and the first delta is not held back behind any timer. Once the client is
 * gone the rest of the events are drained unwritten, so the producer can finish its bookkeeping
 * (saving a partial answer) before the request ends. A producer that throws ends the stream
 * with an `error` event, never a dropped connection.
 */
export async function sendEventStream(
  ctx: Context,
  events: AsyncIterable<ThreadStreamEvent>,
  options: EventStreamOptions,
): Promise<void> {
  const { res } = ctx;
  ctx.respond = false;
  res.socket?.setNoDelay(true);
  // The headers leave with the first frames (the stream's first tick), not in a packet of their own.
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });

  let open = !options.clientGone.aborted;
  const onGone = () => {
    open = false;
  };
  options.clientGone.addEventListener("abort", onGone, { once: true });

  let pending = "";
  let flushQueued = false;
  let ended = false;
  let lastWrite = Date.now();
  /** Set while the socket's buffer is full: the producer waits for it to drain. */
  let draining: Promise<void> | undefined;
  const flush = () => {
    flushQueued = false;
    const chunk = pending;
    pending = "";
    if (!open || ended || chunk === "") return;
    lastWrite = Date.now();
    if (!res.write(chunk)) draining ??= drained(res).then(() => (draining = undefined));
  };
  const send = (frame: string) => {
    if (!open) return;
    pending += frame;
    if (!flushQueued) {
      flushQueued = true;
      process.nextTick(flush);
    }
  };

  const heartbeat =
    options.heartbeatMs > 0
      ? setInterval(() => {
          if (Date.now() - lastWrite >= options.heartbeatMs) send(": keep-alive\n\n");
        }, Math.max(250, Math.floor(options.heartbeatMs / 2)))
      : undefined;

  try {
    for await (const event of events) {
      if (event.type === "error") options.onError?.();
      send(sseFrame(event));
      if (draining) await draining;
    }
  } catch (error) {
    options.logger.error("event stream failed", error);
    options.onError?.();
    send(sseFrame({ type: "error", code: "stream.error", allow_retry: true }));
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    options.clientGone.removeEventListener("abort", onGone);
    ended = true;
    if (open) res.end(pending);
    pending = "";
  }
}

/** Resolves once `res` can take more (or is gone). */
function drained(res: Context["res"]): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
