/**
 * A queue of events from handlers that run concurrently (parallel tool calls), read in order by
 * one consumer. `close()` ends the iteration once everything pushed has been read.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  push(value: T): void {
    if (this.closed) return;
    this.buffer.push(value);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.buffer.length) {
        yield this.buffer.shift() as T;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/**
 * Runs `work` while yielding what it pushes into a channel, then returns its result. A throw
 * from `work` is rethrown after the events pushed before it.
 */
export async function* drainWhile<T, R>(channel: EventChannel<T>, work: Promise<R>, signal: AbortSignal): AsyncGenerator<T, R> {
  let outcome: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
  // A handler that ignores the abort signal must not keep a stopped stream waiting, and what it
  // pushes after the stop was never said: the channel takes nothing more.
  const stop = (reject: (reason: unknown) => void) => {
    channel.close();
    reject(signal.reason);
  };
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) stop(reject);
    signal.addEventListener("abort", () => stop(reject), { once: true });
  });
  stopped.catch(() => {});
  const finished = Promise.race([work, stopped]).then(
    (value) => (outcome = { ok: true, value }),
    (error) => (outcome = { ok: false, error }),
  );
  void finished.then(() => channel.close());
  yield* channel;
  await finished;
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}
