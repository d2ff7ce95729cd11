import type { ThreadItemUpdate, ThreadStreamEvent } from "../../protocol/events.ts";
import type { ThreadItem, ThreadMetadata, WidgetNode } from "../../protocol/items.ts";

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
        items: state.items.map((item) => (item.id === event.item_id ? applyUpdate(item, event.update) : item)),
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

/** Applies a `thread.item.updated` payload (protocol section 4.1) to the item it names. */
export function applyUpdate(item: ThreadItem, update: ThreadItemUpdate): ThreadItem {
  switch (update.type) {
    case "assistant_message.content_part.added":
    case "assistant_message.content_part.done":
    case "assistant_message.content_part.text_delta":
    case "assistant_message.content_part.annotation_added": {
      if (item.type !== "assistant_message") return item;
      const content = item.content.slice();
      while (content.length <= update.content_index) content.push({ type: "output_text", text: "", annotations: [] });
      const part = content[update.content_index]!;
      if (update.type === "assistant_message.content_part.text_delta") {
        content[update.content_index] = { ...part, text: part.text + update.delta };
      } else if (update.type === "assistant_message.content_part.annotation_added") {
        const annotations = part.annotations.slice();
        annotations.splice(Math.min(update.annotation_index, annotations.length), 0, update.annotation);
        content[update.content_index] = { ...part, annotations };
      } else {
        content[update.content_index] = update.content;
      }
      return { ...item, content };
    }
    case "widget.root.updated":
      return item.type === "widget" ? { ...item, widget: update.widget } : item;
    case "widget.component.updated":
      return item.type === "widget" ? { ...item, widget: mapNode(item.widget, update.component_id, () => update.component) } : item;
    case "widget.streaming_text.value_delta":
      return item.type === "widget"
        ? {
            ...item,
            widget: mapNode(item.widget, update.component_id, (node) => ({
              ...node,
              value: `${typeof node.value === "string" ? node.value : ""}${update.delta}`,
              streaming: !update.done,
            })),
          }
        : item;
    case "workflow.task.added":
    case "workflow.task.updated": {
      if (item.type !== "workflow") return item;
      const tasks = item.workflow.tasks.slice();
      if (update.type === "workflow.task.added") tasks.push(update.task);
      else tasks[update.task_index] = update.task;
      return { ...item, workflow: { ...item.workflow, tasks } };
    }
    case "generated_image.updated":
      return item.type === "generated_image" ? { ...item, image: update.image } : item;
  }
}

/** The tree with the node of id `id` replaced by `replace(node)`; other nodes are kept as they are. */
export function mapNode(node: WidgetNode, id: string, replace: (node: WidgetNode) => WidgetNode): WidgetNode {
  if (node.id === id) return replace(node);
  if (!Array.isArray(node.children)) return node;
  let changed = false;
  const children = node.children.map((child) => {
    const next = mapNode(child, id, replace);
    if (next !== child) changed = true;
    return next;
  });
  return changed ? { ...node, children } : node;
}

/** The user message an answer belongs to: the nearest one before `itemId` (what retry re-runs). */
export function userMessageBefore(items: ThreadItem[], itemId: string): ThreadItem | undefined {
  const index = items.findIndex((item) => item.id === itemId);
  for (let i = (index < 0 ? items.length : index) - 1; i >= 0; i--) {
    if (items[i]!.type === "user_message") return items[i];
  }
  return undefined;
}
