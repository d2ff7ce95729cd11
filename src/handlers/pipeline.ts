import { UpstreamError } from "../agents/runner.ts";
import type { ThreadState } from "../agents/respond.ts";
import { ChatkitError } from "../core/errors.ts";
import { streamMessage } from "../core/locale.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import { applyUpdate, inPlace } from "../protocol/fold.ts";
import { isHiddenItem, type AssistantMessageItem, type ThreadItem } from "../protocol/items.ts";
import { threadToWire } from "../protocol/serialize.ts";
import type { ThreadRow } from "../store/index.ts";
import type { HandlerContext } from "./context.ts";
import { newSdkHiddenContext } from "../protocol/new-items.ts";

/** How a stream ends when something fails: the one mapping from errors to `error` events. */
export function errorEvent(error: unknown): ThreadStreamEvent {
  if (error instanceof ChatkitError) {
    return { type: "error", code: "custom", message: streamMessage(error.key), allow_retry: error.allowRetry };
  }
  if (error instanceof UpstreamError) {
    return { type: "error", code: "custom", message: streamMessage("model_failed"), allow_retry: true };
  }
  return { type: "error", code: "stream.error", allow_retry: true };
}

export function threadState(row: ThreadRow): ThreadState {
  return { id: row.id, title: row.title, status: row.status };
}

const hasText = (item: ThreadItem): item is AssistantMessageItem =>
  item.type === "assistant_message" && item.content.some((part) => part.text.trim() !== "");

export interface PipelineInput {
  hc: HandlerContext;
  thread: ThreadRow;
  /** Events already persisted before the stream began (thread.created, the user message). */
  preface: ThreadStreamEvent[];
  responder: (state: ThreadState) => AsyncIterable<ThreadStreamEvent>;
}

/**
 * The responder pipeline (protocol section 5.3): stream_options first, then every responder
 * event, persisted as it completes (`done`, `replaced`, `removed`), hidden items saved but not
 * sent, and `thread.updated` whenever the thread changed. A failing responder ends with an
 * `error` event after what was already said is saved; a client that goes away (the stop
 * button) gets its partial answer saved and a hidden note for the next turn.
 */
export async function* runPipeline({ hc, thread, preface, responder }: PipelineInput): AsyncGenerator<ThreadStreamEvent> {
  yield* preface;
  yield { type: "stream_options", stream_options: { allow_cancel: true } };

  const state = threadState(thread);
  let saved = { title: state.title, status: JSON.stringify(state.status) };
  const pending = new Map<string, ThreadItem>();
  let completedVisibleItem = false;

  /** Checked after every event, so it is cheap (no generator, no store call): the thread rarely changes. */
  const threadChanged = () => state.title !== saved.title || JSON.stringify(state.status) !== saved.status;

  /** Saves the changed thread; its `thread.updated` event. */
  async function saveThread(): Promise<ThreadStreamEvent | undefined> {
    saved = { title: state.title, status: JSON.stringify(state.status) };
    const row = await hc.store.threads.update(hc.owner, state.id, { title: state.title, status: state.status });
    return row ? { type: "thread.updated", thread: threadToWire(row) } : undefined;
  }

  /**
   * Items finished while an item started before them is still open (a widget a tool showed while
   * its workflow runs). The store orders a thread's items as they are saved, so these wait and
   * are saved after it: a reload shows the order the client saw them appear in.
   */
  const waiting: ThreadItem[] = [];
  const byCreation = (a: ThreadItem, b: ThreadItem) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);
  const openBefore = (item: ThreadItem) => [...pending.values()].some((open) => open.created_at < item.created_at);

  async function saveInOrder(item: ThreadItem): Promise<void> {
    if (openBefore(item)) {
      waiting.push(item);
      waiting.sort(byCreation);
      return;
    }
    await hc.store.items.save(hc.owner, item);
    while (waiting.length && !openBefore(waiting[0]!)) await hc.store.items.save(hc.owner, waiting.shift()!);
  }

  /** Saves what still waits, in order: the items still open will not finish. */
  async function saveWaiting(extra: ThreadItem[] = []): Promise<void> {
    const rest = [...waiting.splice(0), ...extra].sort(byCreation);
    for (const item of rest) await hc.store.items.save(hc.owner, item);
  }

  /** Tracks what the event changes; answers a promise only when it writes to the store (not for deltas). */
  function persist(event: ThreadStreamEvent): Promise<void> | undefined {
    switch (event.type) {
      case "thread.item.added":
        pending.set(event.item.id, structuredClone(event.item));
        return undefined;
      case "thread.item.updated": {
        const item = pending.get(event.item_id);
        // Only answers (and workflows) are kept when a turn is cut short; widgets and images end with their `done`.
        if (item && (item.type === "assistant_message" || item.type === "workflow")) applyUpdate(item, event.update, inPlace);
        return undefined;
      }
      case "thread.item.done":
        pending.delete(event.item.id);
        if (!isHiddenItem(event.item)) completedVisibleItem = true;
        return saveInOrder(event.item);
      case "thread.item.replaced": {
        const at = waiting.findIndex((item) => item.id === event.item.id);
        if (at !== -1) waiting[at] = event.item;
        else if (pending.has(event.item.id)) pending.set(event.item.id, structuredClone(event.item));
        else return hc.store.items.save(hc.owner, event.item);
        return undefined;
      }
      case "thread.item.removed": {
        pending.delete(event.item_id);
        const at = waiting.findIndex((item) => item.id === event.item_id);
        if (at !== -1) waiting.splice(at, 1);
        return hc.store.items.delete(hc.owner, state.id, event.item_id);
      }
      default:
        return undefined;
    }
  }

  /** Saves pending assistant text (partial answers) and what waited on unfinished items; returns the partial answers. */
  async function savePartialAnswers(): Promise<ThreadItem[]> {
    const partial = [...pending.values()].filter(hasText);
    pending.clear();
    await saveWaiting(partial);
    return partial;
  }

  const events = responder(state)[Symbol.asyncIterator]();
  try {
    while (!hc.signal.aborted) {
      const next = await events.next();
      if (next.done) break;
      const event = next.value;
      const saving = persist(event);
      if (saving) await saving;
      if (!(event.type === "thread.item.done" && isHiddenItem(event.item))) yield event;
      if (threadChanged()) {
        const updated = await saveThread();
        if (updated) yield updated;
      }
    }
    if (hc.signal.aborted) {
      await events.return?.(undefined);
      await saveCancelled();
      return;
    }
    await saveWaiting();
  } catch (error) {
    if (hc.signal.aborted) {
      await saveCancelled();
      return;
    }
    if (!(error instanceof ChatkitError)) hc.log.error(`stream failed for thread ${state.id}`, error);
    for (const item of await savePartialAnswers()) yield { type: "thread.item.done", item };
    yield errorEvent(error);
  }
  if (threadChanged()) {
    const updated = await saveThread();
    if (updated) yield updated;
  }

  /** The stop button: keep what was said; tell the next turn only if an answer was cut short. */
  async function saveCancelled(): Promise<void> {
    const cutShort = pending.size > 0 || !completedVisibleItem;
    await savePartialAnswers();
    if (cutShort) await addCancelledNote();
    if (threadChanged()) await saveThread();
  }

  async function addCancelledNote(): Promise<void> {
    await hc.store.items.add(hc.owner, newSdkHiddenContext(state.id, streamMessage("cancelled_note")));
  }
}

/** A stream that only reports an error: a streaming request refused in the chat. */
export async function* errorOnly(error: ChatkitError): AsyncGenerator<ThreadStreamEvent> {
  yield errorEvent(error);
}
