import type { ParsedEvent } from "./sse.ts";

/**
 * Folds stream events into thread state the way the ChatKit client does: items appear on
 * `added` or `done`, updates apply to the item in progress, `replaced` swaps, `removed` drops,
 * thread events replace the thread's metadata.
 */
export interface ClientThread {
  thread: any;
  items: any[];
  errors: ParsedEvent[];
  progress: string[];
  /** client_effect and notice events, in order. */
  signals: ParsedEvent[];
  allowCancel?: boolean;
}

export function foldEvents(events: ParsedEvent[], start: ClientThread = { thread: undefined, items: [], errors: [], progress: [], signals: [] }): ClientThread {
  const state: ClientThread = structuredClone(start);
  const indexOf = (id: string) => state.items.findIndex((item) => item.id === id);
  for (const event of events) {
    switch (event.type) {
      case "thread.created":
      case "thread.updated":
        state.thread = event.thread;
        break;
      case "thread.item.added":
      case "thread.item.done":
      case "thread.item.replaced": {
        const at = indexOf(event.item.id);
        if (at === -1) state.items.push(structuredClone(event.item));
        else state.items[at] = structuredClone(event.item);
        break;
      }
      case "thread.item.removed": {
        const at = indexOf(event.item_id);
        if (at !== -1) state.items.splice(at, 1);
        break;
      }
      case "thread.item.updated": {
        const item = state.items[indexOf(event.item_id)];
        if (!item) throw new Error(`update for an item the client never saw: ${event.item_id}`);
        const update = event.update;
        if (update.type.startsWith("assistant_message.content_part.")) {
          while (item.content.length <= update.content_index) item.content.push({ type: "output_text", text: "", annotations: [] });
          if (update.type === "assistant_message.content_part.text_delta") item.content[update.content_index].text += update.delta;
          else if (update.content) item.content[update.content_index] = structuredClone(update.content);
          if (update.type === "assistant_message.content_part.annotation_added") item.content[update.content_index].annotations.splice(update.annotation_index, 0, update.annotation);
        } else if (update.type === "workflow.task.added") item.workflow.tasks.splice(update.task_index, 0, structuredClone(update.task));
        else if (update.type === "workflow.task.updated") item.workflow.tasks[update.task_index] = structuredClone(update.task);
        else if (update.type === "widget.root.updated") item.widget = structuredClone(update.widget);
        else if (update.type === "widget.streaming_text.value_delta") {
          const visit = (node: any): void => {
            if (node.id === update.component_id) node.value += update.delta;
            for (const child of node.children ?? []) visit(child);
          };
          visit(item.widget);
        }
        break;
      }
      case "stream_options":
        state.allowCancel = event.stream_options.allow_cancel;
        break;
      case "progress_update":
        state.progress.push(event.text);
        break;
      case "client_effect":
      case "notice":
        state.signals.push(event);
        break;
      case "error":
        state.errors.push(event);
        break;
    }
  }
  return state;
}

export function userInput(text: string, extra: Record<string, unknown> = {}) {
  return { content: [{ type: "input_text", text }], attachments: [], inference_options: {}, ...extra };
}

/** The event types in order, with text deltas collapsed into one entry per run. */
export function eventShape(events: ParsedEvent[]): string[] {
  const shape: string[] = [];
  for (const event of events) {
    const name = event.type === "thread.item.updated" ? `updated:${event.update.type.split(".").at(-1)}` : event.type;
    if (name === "updated:text_delta" && shape.at(-1) === "updated:text_delta") continue;
    shape.push(name);
  }
  return shape;
}
