import type {
  Annotation,
  ThreadStatus,
  AssistantMessageContent,
  Task,
  Thread,
  ThreadItem,
  WidgetNode,
} from "./items.ts";

/** `thread.item.updated` payloads (protocol reference, section 4.1). */
export type ThreadItemUpdate =
  | { type: "assistant_message.content_part.added"; content_index: number; content: AssistantMessageContent }
  | { type: "assistant_message.content_part.text_delta"; content_index: number; delta: string }
  | { type: "assistant_message.content_part.annotation_added"; content_index: number; annotation_index: number; annotation: Annotation }
  | { type: "assistant_message.content_part.done"; content_index: number; content: AssistantMessageContent }
  | { type: "widget.streaming_text.value_delta"; component_id: string; delta: string; done: boolean }
  | { type: "widget.root.updated"; widget: WidgetNode }
  | { type: "widget.component.updated"; component_id: string; component: WidgetNode }
  | { type: "workflow.task.added"; task_index: number; task: Task }
  | { type: "workflow.task.updated"; task_index: number; task: Task }
  | { type: "generated_image.updated"; image: { id: string; url: string }; progress?: number };

/** Every SSE `data:` payload (section 4). */
export type ThreadStreamEvent =
  | { type: "thread.created"; thread: Thread }
  | { type: "thread.updated"; thread: Thread }
  | { type: "thread.item.added"; item: ThreadItem }
  | { type: "thread.item.updated"; item_id: string; update: ThreadItemUpdate }
  | { type: "thread.item.done"; item: ThreadItem }
  | { type: "thread.item.removed"; item_id: string }
  | { type: "thread.item.replaced"; item: ThreadItem }
  | { type: "stream_options"; stream_options: { allow_cancel: boolean } }
  | { type: "progress_update"; text: string; icon?: string }
  | { type: "client_effect"; name: string; data: Record<string, unknown> }
  | { type: "notice"; level: "info" | "warning" | "danger"; message: string; title?: string }
  | { type: "error"; code: string; message?: string; allow_retry: boolean };

export type ThreadStreamEventType = ThreadStreamEvent["type"];

/**
 * A change to the thread itself (a better title, a locked thread) a responder asks for. It is
 * not a wire event: the pipeline saves the change and announces it as `thread.updated`.
 */
export interface ThreadChange {
  type: "thread.change";
  title?: string | null;
  status?: ThreadStatus;
}

/** What a responder streams into the pipeline: protocol events, and changes to the thread. */
export type TurnEvent = ThreadStreamEvent | ThreadChange;
