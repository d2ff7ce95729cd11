import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { ThreadStatus } from "../protocol/items.ts";

/** The thread as a turn starts: who answers reads it, and asks for changes with a `thread.change` event. */
export interface ThreadState {
  readonly id: string;
  readonly title: string | null;
  readonly status: ThreadStatus;
}

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
