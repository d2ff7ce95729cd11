import type { AgentConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { AssistantMessageItem, SdkToolCallItem, Source, ThreadItem } from "../protocol/items.ts";
import { newAssistantMessage } from "../protocol/new-items.ts";
import { toolSpec, type ResolvedTool } from "../tools/run.ts";
import { approvalDecisions } from "./approval.ts";
import { historyToMessages, userMessageText } from "./history.ts";
import { messageEnd, messageStart } from "./message-writer.ts";
import { completeText, type ModelEvent, type ModelRequest, type ModelRunner } from "./runner.ts";
import { runToolRound, type RoundResult } from "./tool-round.ts";
import type { TurnEvent } from "../protocol/events.ts";
import type { ThreadState } from "./turn.ts";
import { cleanModelTitle, TITLE_INSTRUCTIONS } from "./titles.ts";
import { WorkflowTracker } from "./workflow.ts";
import { HostedDisplay, type SaveImage } from "./hosted-display.ts";
import { UsageMeter } from "../usage/meter.ts";

export interface Turn {
  thread: ThreadState;
  agent: AgentConfig;
  model: string;
  runner: ModelRunner;
  /** The thread's newest stored items, oldest first, ending with what the model answers (see `recentHistory`). */
  history: ThreadItem[];
  /** Whether `history` is the whole thread. */
  wholeThread: boolean;
  user: { id: string; email: string };
  /** Every tool the agent offers this turn: its config tools and its MCP servers' tools. */
  tools: ResolvedTool[];
  /** Stores a generated image for the thread's owner (hosted `image_generation`). */
  saveImage?: SaveImage;
  /** A tool the user picked in the composer (`inference_options.tool_choice`), already checked. */
  forcedTool?: string | undefined;
  signal: AbortSignal;
  logger: Logger;
  /** Counts what the turn uses (model calls, reported tokens, tool calls); the caller records it. */
  meter?: UsageMeter;
  /** Records a title the model wrote: its own usage, kept apart from the turn's. */
  recordTitle?: (meter: UsageMeter, failure?: unknown) => Promise<void>;
}


/**
 * Runs the calls waiting for approval whose question the user has now answered (the newest
 * answered approval in the history): approved ones run, denied ones tell the model so.
 */
async function* resumeApprovedCalls(turn: Turn, workflow: WorkflowTracker, citations: Source[]): AsyncGenerator<ThreadStreamEvent, RoundResult | undefined> {
  const decisions = approvalDecisions(turn.history);
  if (!decisions.size) return undefined;
  const pending = turn.history.filter((item): item is SdkToolCallItem => item.type === "sdk_tool_call" && item.approval === "pending" && decisions.has(item.call_id));
  if (!pending.length) return undefined;
  return yield* runToolRound(
    turn,
    pending.map((item) => ({ callId: item.call_id, name: item.name, arguments: item.arguments, record: item })),
    workflow,
    citations,
    decisions,
  );
}

/**
 * One assistant turn as protocol events. The model is called, its text streamed as an assistant
 * message; when it calls tools they run (server tools here, their work shown as workflow tasks;
 * a client tool ends the turn with a pending `client_tool_call`), their results go back, and the
 * model is called again, until it answers in text or the agent's `maxToolRounds` is spent.
 * Upstream failures propagate; the pipeline keeps what was said and ends with an error event.
 */
export async function* respondWithModel(turn: Turn): AsyncGenerator<TurnEvent> {
  const { thread, agent, runner } = turn;
  yield { type: "progress_update", text: runner.isLocal ? "Answering locally…" : "Thinking…" };

  const workflow = new WorkflowTracker(thread.id);
  const citations: Source[] = [];
  let visibleItems = 0;
  // Calls the user has just approved or denied run first; then the model sees their results.
  const resumed = yield* resumeApprovedCalls(turn, workflow, citations);
  if (resumed?.waitsForUser) return;
  visibleItems += resumed?.visibleItems ?? 0;
  const history = resumed ? turn.history.map((item) => resumed.records.get(item.id) ?? item) : turn.history;
  const messages = historyToMessages(history, { maxMessages: agent.historyMessages });
  const specs = turn.tools.map(toolSpec);
  const hosted = new HostedDisplay(thread.id, workflow, turn.saveImage);

  try {
    for (let round = 0; ; round++) {
      workflow.newRound();
      const request: ModelRequest = {
        model: turn.model,
        instructions: agent.instructions,
        messages: [...messages],
        temperature: agent.temperature,
        maxOutputTokens: agent.maxOutputTokens,
        reasoning: agent.reasoning,
        ...(agent.hostedTools.length ? { hostedTools: agent.hostedTools } : {}),
        ...(specs.length || agent.hostedTools.length
          ? { tools: specs, toolChoice: round >= agent.maxToolRounds ? "none" : round === 0 && turn.forcedTool ? { name: turn.forcedTool } : "auto" }
          : {}),
      };
      const calls: Array<Extract<ModelEvent, { type: "tool_call" }>> = [];
      let message: AssistantMessageItem | undefined;
      let text = "";
      turn.meter?.modelCall();
      for await (const event of runner.stream(request, turn.signal)) {
        switch (event.type) {
          case "text.delta":
            if (!message) {
              yield* workflow.end();
              hosted.workflowEnded();
              message = newAssistantMessage(thread.id);
              yield* messageStart(message);
            }
            text += event.delta;
            yield { type: "thread.item.updated", item_id: message.id, update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: event.delta } };
            break;
          case "reasoning.delta":
            yield* workflow.thought(event.index, event.delta, false);
            break;
          case "reasoning.done":
            yield* workflow.thought(event.index, event.text, true);
            break;
          case "tool_call":
            calls.push(event);
            break;
          case "citation":
            citations.push(event.source);
            break;
          case "hosted_call":
            if (event.call.done) turn.meter?.toolCall(event.call.kind === "mcp");
            yield* hosted.call(event);
            break;
          case "usage":
            turn.meter?.reported(event.usage);
            break;
          case "image":
            visibleItems += yield* hosted.image(event);
            break;
        }
      }
      if (message) {
        yield* finishMessage(message, text, citations.splice(0));
        visibleItems++;
        messages.push({ role: "assistant", text });
      }
      if (!calls.length) break;
      if (round >= agent.maxToolRounds) {
        yield* workflow.end();
        throw new ChatkitError(502, "tool_rounds_exceeded", {}, { allowRetry: true });
      }
      const result: RoundResult = yield* runToolRound(turn, calls, workflow, citations);
      messages.push(...result.messages);
      visibleItems += result.visibleItems;
      if (result.waitsForUser) return yield* retitle(turn);
    }
  } catch (error) {
    // A turn that fails after tools ran (the upstream failing on the next round, say) still
    // closes its workflow, so a reload shows what the client was shown.
    if (!turn.signal.aborted) yield* workflow.end();
    throw error;
  }
  yield* workflow.end();
  if (visibleItems === 0) {
    // Nothing to show (an empty answer): still one assistant message, so the turn visibly ends.
    yield* finishMessage(newAssistantMessage(thread.id), "", citations.splice(0), true);
  }

  yield* retitle(turn);
}

/** After the first turn, a title from the model when the agent asks for one. */
async function* retitle(turn: Turn): AsyncGenerator<TurnEvent> {
  if (!turn.agent.generateTitles || !isFirstTurn(turn)) return;
  const better = await modelTitle(turn);
  if (better && better !== turn.thread.title) yield { type: "thread.change", title: better };
}

function* finishMessage(message: AssistantMessageItem, text: string, sources: Source[], announce = false): Generator<ThreadStreamEvent> {
  if (announce) yield* messageStart(message);
  yield* messageEnd(message, text, sources);
}

function isFirstTurn(turn: Turn): boolean {
  return turn.wholeThread && turn.history.filter((item) => item.type === "user_message").length === 1;
}

const TITLE_TIMEOUT_MS = 30_000;

/**
 * Asks the model for a better title; a failure keeps the title from the first message. The
 * answer is complete by now, so a client leaving does not cancel this; a timeout bounds it.
 */
async function modelTitle(turn: Turn): Promise<string | null> {
  const first = turn.history.find((item) => item.type === "user_message");
  if (!first || first.type !== "user_message") return null;
  const meter = new UsageMeter();
  meter.modelCall();
  try {
    const raw = await completeText(
      turn.runner,
      { model: turn.model, instructions: TITLE_INSTRUCTIONS, messages: [{ role: "user", text: userMessageText(first) }], maxOutputTokens: 32 },
      AbortSignal.timeout(TITLE_TIMEOUT_MS),
      (usage) => meter.reported(usage),
    );
    await turn.recordTitle?.(meter);
    return cleanModelTitle(raw);
  } catch (error) {
    turn.logger.error(`title generation failed for ${turn.thread.id}`, error);
    await turn.recordTitle?.(meter, error);
    return null;
  }
}
