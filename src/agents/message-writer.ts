import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { Annotation, AssistantMessageContent, AssistantMessageItem, Source } from "../protocol/items.ts";
import { newAssistantMessage } from "../protocol/new-items.ts";

export const textPart = (text: string, annotations: Annotation[] = []): AssistantMessageContent => ({ type: "output_text", text, annotations });

/** The events that open an assistant message: the item, then its empty text part. */
export function* messageStart(item: AssistantMessageItem): Generator<ThreadStreamEvent> {
  yield { type: "thread.item.added", item };
  yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.added", content_index: 0, content: textPart("") } };
}

/** The events that finish it: one annotation per cited source, the part done, the item done. */
export function* messageEnd(item: AssistantMessageItem, text: string, sources: Source[]): Generator<ThreadStreamEvent> {
  const annotations: Annotation[] = sources.map((source) => ({ type: "annotation", source }));
  for (const [index, annotation] of annotations.entries()) {
    yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.annotation_added", content_index: 0, annotation_index: index, annotation } };
  }
  const content = textPart(text, annotations);
  yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.done", content_index: 0, content } };
  yield { type: "thread.item.done", item: { ...item, content: [content] } };
}

/**
 * Assistant messages written a piece at a time by code that pushes events (a `respond` function,
 * an Agents SDK run): the first piece announces the message, each piece is a text delta, and
 * `end` finishes it with the sources cited meanwhile.
 */
export class MessageWriter {
  private current: { item: AssistantMessageItem; text: string } | undefined;
  /** Ids of every message this writer started, in order. */
  readonly started: string[] = [];

  constructor(
    private readonly threadId: string,
    private readonly emit: (event: ThreadStreamEvent) => void,
    /** Called before a message starts (to close an open workflow, say). */
    private readonly beforeStart: () => void,
  ) {}

  get open(): boolean {
    return this.current !== undefined;
  }

  write(delta: string): void {
    if (!delta) return;
    const message = this.current ?? this.start();
    message.text += delta;
    this.emit({ type: "thread.item.updated", item_id: message.item.id, update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta } });
  }

  /** Finishes the open message (starting one when `text` is given and none is); `text` replaces what was written. */
  end(sources: Source[], text?: string): void {
    if (!this.current && !text) return;
    const { item, text: written } = this.current ?? this.start();
    this.current = undefined;
    for (const event of messageEnd(item, text ?? written, sources)) this.emit(event);
  }

  /** Forgets the open message without finishing it (its removal is announced by the caller). */
  discard(): void {
    this.current = undefined;
  }

  private start(): { item: AssistantMessageItem; text: string } {
    this.beforeStart();
    const item = newAssistantMessage(this.threadId);
    this.current = { item, text: "" };
    this.started.push(item.id);
    for (const event of messageStart(item)) this.emit(event);
    return this.current;
  }
}
