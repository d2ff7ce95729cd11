import type { ThreadStatus } from "../protocol/items.ts";

/** The thread as a turn starts: who answers reads it, and asks for changes with a `thread.change` event. */
export interface ThreadState {
  readonly id: string;
  readonly title: string | null;
  readonly status: ThreadStatus;
}
