import { newId } from "../core/ids.ts";
import { newClientToolCall } from "../protocol/new-items.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { Attachment, Source, Task, ThreadItem, UserMessageItem } from "../protocol/items.ts";
import { drainWhile } from "../tools/channel.ts";
import { finishOpenWidgets, HandlerChannel, streamingContext } from "../tools/context.ts";
import type { RunScope, StreamingContext, StructuredInputQuestion } from "../tools/define.ts";
import { historyToMessages, userMessageText } from "./history.ts";
import { MessageWriter } from "./message-writer.ts";
import type { ModelMessage } from "./runner.ts";
import { structuredInputItem } from "./tool-round.ts";
import type { TurnEvent } from "../protocol/events.ts";
import type { ThreadState } from "./turn.ts";
import { WorkflowTracker } from "./workflow.ts";

/** A task a `respond` function shows in the turn's workflow, to finish when its work is done. */
export interface TaskHandle {
  /** Marks it complete, optionally with a new title and a line of detail. */
  done(options?: { title?: string; content?: string }): void;
  /** Marks it complete with what went wrong. */
  fail(error: string): void;
}

/** The user's message this turn answers: its text (tags and quote included) and its files. */
export interface RespondInput {
  text: string;
  attachments: Attachment[];
  item: UserMessageItem;
}

/**
 * What an agent's `respond` function gets: the turn, and the helpers tool handlers have.
 * Everything it does streams at once and is stored as the client saw it.
 */
export interface RespondTurn extends StreamingContext {
  /** The newest user message of the thread: what this turn answers (or continues from, after a browser tool or a question). */
  input: RespondInput | undefined;
  history: {
    /** The thread as a model reads it (the agent's `historyMessages` latest, files with the newest). */
    messages: ModelMessage[];
    /** The thread's newest stored items, oldest first, hidden ones included. */
    items: ThreadItem[];
  };
  /** Streams text into the current assistant message, starting one when none is open. */
  write(text: string): void;
  /** Finishes the current assistant message (with the sources cited so far); the next `write` starts a new one. */
  endMessage(): void;
  /** Cites a source: an annotation on the assistant message being written (or the next one). */
  cite(source: Source): void;
  /** Adds a task to the turn's workflow (opening one), shown as running until `done`. */
  task(title: string, options?: { content?: string }): TaskHandle;
  /** Adds a thought (a reasoning step) to the turn's workflow. */
  thought(text: string): void;
  /** Closes the workflow; `write` also does. */
  endWorkflow(): void;
  /** Asks the user (a `structured_input` item); their answers start the next turn. */
  askUser(questions: StructuredInputQuestion[]): void;
  /**
   * Has the page's `onClientTool` handler run `name`: the turn ends with a pending
   * `client_tool_call` (its last item), and the result arrives with the next turn, in `history`.
   */
  callClientTool(name: string, args?: Record<string, unknown>): void;
  /** Renames the thread (saved, and announced as `thread.updated`). */
  setTitle(title: string): void;
}

/**
 * An agent written as code: streams its answer through `turn`'s helpers. It may also return
 * text (written as the answer), or be an async generator yielding text deltas or protocol events.
 */
export type RespondFunction = (turn: RespondTurn) => Promise<string | void> | AsyncIterable<string | ThreadStreamEvent>;

export interface FunctionTurn {
  respond: RespondFunction;
  thread: ThreadState;
  user: { id: string; email: string };
  agent: { id: string; name: string; historyMessages: number };
  /** The thread's newest stored items, oldest first (see `recentHistory`). */
  history: ThreadItem[];
  signal: AbortSignal;
}

/**
 * Runs an agent's `respond` function as the turn: its events go into one channel, in the order
 * it makes them, and out through the same pipeline as a model's answer. A throw ends the turn
 * with an `error` event after what it said was kept; a stop aborts `turn.signal`.
 */
export async function* respondWithFunction(turn: FunctionTurn): AsyncGenerator<TurnEvent> {
  const channel = new HandlerChannel<TurnEvent>();
  const emit = (event: TurnEvent) => channel.push(event);
  const scope: RunScope = { user: turn.user, thread: { id: turn.thread.id, title: turn.thread.title }, agent: { id: turn.agent.id, name: turn.agent.name }, signal: turn.signal };
  const helpers = streamingContext(scope, channel);
  const workflow = new WorkflowTracker(turn.thread.id);
  const citations: Source[] = [];
  let clientCall: ThreadItem | undefined;

  const endWorkflow = () => {
    for (const event of workflow.end()) emit(event);
  };
  const messages = new MessageWriter(turn.thread.id, emit, endWorkflow);
  const write = (text: string) => messages.write(text);
  const endMessage = () => messages.end(citations.splice(0));
  const addTask = (task: Task, type: "custom" | "reasoning" = "custom") => {
    endMessage();
    const started = workflow.addTask(task, type);
    for (const event of started.events) emit(event);
    return started.index;
  };

  const newestUser = turn.history.findLast((item): item is UserMessageItem => item.type === "user_message");
  const context: RespondTurn = {
    ...helpers,
    input: newestUser && { text: userMessageText(newestUser), attachments: newestUser.attachments, item: newestUser },
    history: { messages: historyToMessages(turn.history, { maxMessages: turn.agent.historyMessages }), items: turn.history },
    write,
    endMessage,
    cite: (source) => citations.push(source),
    task(title, options = {}) {
      const index = addTask({ type: "custom", title, status_indicator: "loading", ...(options.content ? { content: options.content } : {}) });
      let finished = false;
      const finish = (task: Task) => {
        if (finished) return;
        finished = true;
        for (const event of workflow.updateTask(index, task)) emit(event);
      };
      return {
        done: (update = {}) => finish({ type: "custom", title: update.title ?? title, status_indicator: "complete", ...(update.content ? { content: update.content } : {}) }),
        fail: (error) => finish({ type: "custom", title, status_indicator: "complete", content: `Failed: ${error}` }),
      };
    },
    thought: (text) => void addTask({ type: "thought", content: text, status_indicator: "complete" }, "reasoning"),
    endWorkflow,
    askUser(questions) {
      endMessage();
      endWorkflow();
      emit({ type: "thread.item.done", item: structuredInputItem(turn.thread.id, questions) });
    },
    callClientTool(name, args = {}) {
      if (clientCall) throw new Error("only one browser tool call per turn: it must be the turn's last item");
      clientCall = newClientToolCall(turn.thread.id, { call_id: newId("tool_call"), name, arguments: args });
    },
    setTitle: (title) => emit({ type: "thread.change", title }),
    // Helpers that add items close the message being written, so items keep the order they were made in.
    widget(root, options) {
      endMessage();
      return helpers.widget(root, options);
    },
    startWidget(root, options) {
      endMessage();
      return helpers.startWidget(root, options);
    },
  };

  async function run(): Promise<void> {
    const result = turn.respond(context);
    if (result && typeof result === "object" && Symbol.asyncIterator in result) {
      for await (const value of result) {
        if (turn.signal.aborted) return;
        if (typeof value === "string") {
          write(value);
          continue;
        }
        if (value.type === "thread.item.added" || value.type === "thread.item.done") endMessage();
        emit(value);
      }
    } else {
      const text = await result;
      if (typeof text === "string") write(text);
    }
    finishOpenWidgets(channel);
    endMessage();
    endWorkflow();
    // The thread's newest item: `threads.add_client_tool_output` looks for it there.
    if (clientCall) emit({ type: "thread.item.done", item: clientCall });
  }

  try {
    yield* drainWhile(channel, run(), turn.signal);
  } catch (error) {
    // What was shown stays as the client saw it: the workflow closes; the pipeline keeps the partial message.
    if (!turn.signal.aborted) yield* workflow.end();
    throw error;
  }
}
