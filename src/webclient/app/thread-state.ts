import type { ThreadStreamEvent } from "../../protocol/events.ts";
import { applyUpdate, copyOnWrite } from "../../protocol/fold.ts";
import type { ThreadItem, ThreadMetadata } from "../../protocol/items.ts";

export interface Notice {
  level: "info" | "warning" | "danger";
  message: string;
  title?: string;
}

export interface StreamError {
  message: string;
  allowRetry: boolean;
}

/** The open conversation as the stream leaves it: the thread, its items (oldest first) and transient state. */
export interface ThreadState {
  thread: ThreadMetadata | null;
  items: ThreadItem[];
  /** More (older) items exist; `olderCursor` pages to them with `items.list`. */
  olderCursor?: string;
  allowCancel: boolean;
  progress: { text: string; icon?: string } | null;
  notices: Notice[];
  error: StreamError | null;
}

export const EMPTY_THREAD: ThreadState = { thread: null, items: [], allowCancel: false, progress: null, notices: [], error: null };

const GENERIC_STREAM_ERROR = "Something went wrong while answering. Try again.";

function upsert(items: ThreadItem[], item: ThreadItem): ThreadItem[] {
  const index = items.findIndex((existing) => existing.id === item.id);
  if (index < 0) return [...items, item];
  const next = items.slice();
  next[index] = item;
  return next;
}

/** Folds one stream event into the state, as the official client does with its thread view. */
export function applyEvent(state: ThreadState, event: ThreadStreamEvent): ThreadState {
  switch (event.type) {
    case "thread.created":
    case "thread.updated": {
      const { items: _page, ...thread } = event.thread;
      return { ...state, thread };
    }
    case "thread.item.added":
    case "thread.item.done":
    case "thread.item.replaced":
      return { ...state, items: upsert(state.items, event.item), progress: null };
    case "thread.item.updated":
      return {
        ...state,
        progress: null,
        items: state.items.map((item) => (item.id === event.item_id ? applyUpdate(item, event.update, copyOnWrite) : item)),
      };
    case "thread.item.removed":
      return { ...state, items: state.items.filter((item) => item.id !== event.item_id) };
    case "stream_options":
      return { ...state, allowCancel: event.stream_options.allow_cancel };
    case "progress_update":
      return { ...state, progress: { text: event.text, ...(event.icon ? { icon: event.icon } : {}) } };
    case "notice":
      return { ...state, notices: [...state.notices, { level: event.level, message: event.message, ...(event.title ? { title: event.title } : {}) }] };
    case "error":
      return {
        ...state,
        progress: null,
        error: { message: event.code === "custom" && event.message ? event.message : GENERIC_STREAM_ERROR, allowRetry: event.allow_retry },
      };
    case "client_effect":
      return state;
  }
}

/** The user message an answer belongs to: the nearest one before `itemId` (what retry re-runs). */
export function userMessageBefore(items: ThreadItem[], itemId: string): ThreadItem | undefined {
  const index = items.findIndex((item) => item.id === itemId);
  for (let i = (index < 0 ? items.length : index) - 1; i >= 0; i--) {
    if (items[i]!.type === "user_message") return items[i];
  }
  return undefined;
}
