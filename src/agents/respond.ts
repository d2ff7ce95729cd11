import type { AgentConfig } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { AssistantMessageContent, AssistantMessageItem, ThreadItem, ThreadStatus } from "../protocol/items.ts";
import { monotonicNow, toIso } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import { historyToMessages, userMessageText } from "./history.ts";
import { completeText, type ModelRunner } from "./runner.ts";
import { cleanModelTitle, TITLE_INSTRUCTIONS } from "./titles.ts";

/** The thread fields a responder may change; the pipeline saves and announces changes. */
export interface ThreadState {
  id: string;
  title: string | null;
  status: ThreadStatus;
}

export interface Turn {
  thread: ThreadState;
  agent: AgentConfig;
  model: string;
  runner: ModelRunner;
  /** Every stored item of the thread, oldest first, ending with what the model answers. */
  history: ThreadItem[];
  signal: AbortSignal;
  logger: Logger;
}

const textPart = (text: string): AssistantMessageContent => ({ type: "output_text", text, annotations: [] });

/**
 * One assistant turn as protocol events: a progress line while waiting, then the assistant
 * message added, its content part, text deltas as they stream, the part done, the item done.
 * Upstream failures propagate; the pipeline keeps what was said and ends with an error event.
 */
export async function* respondWithModel(turn: Turn): AsyncGenerator<ThreadStreamEvent> {
  const { thread, agent, runner } = turn;
  yield { type: "progress_update", text: runner.isLocal ? "Answering locally…" : "Thinking…" };

  const item: AssistantMessageItem = {
    id: newId("message"),
    thread_id: thread.id,
    created_at: toIso(monotonicNow()),
    type: "assistant_message",
    content: [],
  };
  const request = {
    model: turn.model,
    instructions: agent.instructions,
    messages: historyToMessages(turn.history, { maxMessages: agent.historyMessages }),
    temperature: agent.temperature,
    maxOutputTokens: agent.maxOutputTokens,
  };

  let started = false;
  const start = function* (): Generator<ThreadStreamEvent> {
    started = true;
    yield { type: "thread.item.added", item };
    yield {
      type: "thread.item.updated",
      item_id: item.id,
      update: { type: "assistant_message.content_part.added", content_index: 0, content: textPart("") },
    };
  };

  let text = "";
  for await (const delta of runner.streamText(request, turn.signal)) {
    if (!started) yield* start();
    text += delta;
    yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta } };
  }
  if (!started) yield* start();
  yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.done", content_index: 0, content: textPart(text) } };
  yield { type: "thread.item.done", item: { ...item, content: [textPart(text)] } };

  if (agent.generateTitles && isFirstTurn(turn.history)) {
    const better = await modelTitle(turn);
    if (better) thread.title = better;
  }
}

function isFirstTurn(history: ThreadItem[]): boolean {
  return history.filter((item) => item.type === "user_message").length === 1;
}

const TITLE_TIMEOUT_MS = 30_000;

/**
 * Asks the model for a better title; a failure keeps the title from the first message. The
 * answer is complete by now, so a client leaving does not cancel this; a timeout bounds it.
 */
async function modelTitle(turn: Turn): Promise<string | null> {
  const first = turn.history.find((item) => item.type === "user_message");
  if (!first || first.type !== "user_message") return null;
  try {
    const raw = await completeText(
      turn.runner,
      { model: turn.model, instructions: TITLE_INSTRUCTIONS, messages: [{ role: "user", text: userMessageText(first) }], maxOutputTokens: 32 },
      AbortSignal.timeout(TITLE_TIMEOUT_MS),
    );
    return cleanModelTitle(raw);
  } catch (error) {
    turn.logger.error(`title generation failed for ${turn.thread.id}`, error);
    return null;
  }
}
