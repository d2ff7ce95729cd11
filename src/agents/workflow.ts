import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { Task, WorkflowItem } from "../protocol/items.ts";
import { newWorkflowItem } from "../protocol/new-items.ts";

/**
 * The workflow item that shows work before an answer, as chatkit-python shows it: reasoning
 * summaries as thought tasks (a `reasoning` workflow) and tool calls as custom tasks. It is
 * opened by the first task and ended, with its duration as summary, when the answer's text
 * starts or the turn ends.
 */
export class WorkflowTracker {
  private item: WorkflowItem | undefined;
  private startedAt = 0;
  private readonly thoughtTask = new Map<number, number>();

  constructor(private readonly threadId: string) {}

  private *open(type: "custom" | "reasoning"): Generator<ThreadStreamEvent, WorkflowItem> {
    if (this.item) return this.item;
    this.startedAt = Date.now();
    this.item = newWorkflowItem(this.threadId, { type, tasks: [], expanded: false });
    yield { type: "thread.item.added", item: structuredClone(this.item) };
    return this.item;
  }

  /** Summary indexes restart with every model call; a new round's thoughts are new tasks. */
  newRound(): void {
    this.thoughtTask.clear();
  }

  addTask(task: Task, type: "custom" | "reasoning" = "custom"): { index: number; events: ThreadStreamEvent[] } {
    const events: ThreadStreamEvent[] = [];
    const opening = this.open(type);
    let step = opening.next();
    while (!step.done) {
      events.push(step.value);
      step = opening.next();
    }
    const item = step.value;
    const index = item.workflow.tasks.push(task) - 1;
    events.push({ type: "thread.item.updated", item_id: item.id, update: { type: "workflow.task.added", task_index: index, task } });
    return { index, events };
  }

  *updateTask(index: number, task: Task): Generator<ThreadStreamEvent> {
    if (!this.item) return;
    this.item.workflow.tasks[index] = task;
    yield { type: "thread.item.updated", item_id: this.item.id, update: { type: "workflow.task.updated", task_index: index, task } };
  }

  /** A reasoning summary growing (`done` false) or complete: one thought task per summary part. */
  *thought(summaryIndex: number, text: string, done: boolean): Generator<ThreadStreamEvent> {
    const taskIndex = this.item ? this.thoughtTask.get(summaryIndex) : undefined;
    const previous = taskIndex === undefined ? "" : (this.item!.workflow.tasks[taskIndex] as Extract<Task, { type: "thought" }>).content;
    const task: Task = { type: "thought", content: done ? text : previous + text, status_indicator: done ? "complete" : "loading" };
    if (taskIndex !== undefined) return yield* this.updateTask(taskIndex, task);
    const started = this.addTask(task, "reasoning");
    this.thoughtTask.set(summaryIndex, started.index);
    yield* started.events;
  }

  /** Closes the open workflow (if any): collapsed, with how long the work took. */
  *end(): Generator<ThreadStreamEvent> {
    if (!this.item) return;
    const item = this.item;
    this.item = undefined;
    this.thoughtTask.clear();
    item.workflow.summary ??= { duration: Math.round((Date.now() - this.startedAt) / 1000) };
    item.workflow.expanded = false;
    yield { type: "thread.item.done", item };
  }
}
