import type { AgentConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type {
  Annotation,
  AssistantMessageContent,
  AssistantMessageItem,
  ClientToolCallItem,
  SdkToolCallItem,
  Source,
  StructuredInputItem,
  Task,
  ThreadItem,
  ThreadStatus,
} from "../protocol/items.ts";
import { monotonicNow, toIso } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import { drainWhile } from "../tools/channel.ts";
import { finishOpenWidgets, HandlerChannel, streamingContext } from "../tools/context.ts";
import type { StructuredInputQuestion, ToolContext } from "../tools/define.ts";
import { parseToolArguments, toolSpec, type ResolvedTool, type ToolOutcome } from "../tools/run.ts";
import { approvalItem, approvalDecisions, APPROVAL_DENIED_OUTPUT } from "./approval.ts";
import { historyToMessages, toolOutputText, userMessageText } from "./history.ts";
import { completeText, type ModelEvent, type ModelMessage, type ModelRequest, type ModelRunner } from "./runner.ts";
import { cleanModelTitle, TITLE_INSTRUCTIONS } from "./titles.ts";
import { WorkflowTracker } from "./workflow.ts";
import { HostedDisplay, type SaveImage } from "./hosted-display.ts";

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
}

const now = () => toIso(monotonicNow());
const textPart = (text: string, annotations: Annotation[] = []): AssistantMessageContent => ({ type: "output_text", text, annotations });

/** What one round of tool calls left for the model and whether the turn must stop for the user. */
interface RoundResult {
  messages: ModelMessage[];
  /** A pending client tool call, structured input or approval: the user acts next, not the model. */
  waitsForUser: boolean;
  visibleItems: number;
  /** The stored call items as this round left them, by item id. */
  records: Map<string, SdkToolCallItem>;
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
export async function* respondWithModel(turn: Turn): AsyncGenerator<ThreadStreamEvent> {
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
      for await (const event of runner.stream(request, turn.signal)) {
        switch (event.type) {
          case "text.delta":
            if (!message) {
              yield* workflow.end();
              hosted.workflowEnded();
              message = { id: newId("message"), thread_id: thread.id, created_at: now(), type: "assistant_message", content: [] };
              yield { type: "thread.item.added", item: message };
              yield { type: "thread.item.updated", item_id: message.id, update: { type: "assistant_message.content_part.added", content_index: 0, content: textPart("") } };
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
            yield* hosted.call(event);
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
    yield* finishMessage({ id: newId("message"), thread_id: thread.id, created_at: now(), type: "assistant_message", content: [] }, "", citations.splice(0), true);
  }

  yield* retitle(turn);
}

/** After the first turn, a title from the model when the agent asks for one. */
async function* retitle(turn: Turn): AsyncGenerator<never> {
  if (!turn.agent.generateTitles || !isFirstTurn(turn)) return;
  const better = await modelTitle(turn);
  if (better) turn.thread.title = better;
}

function* finishMessage(message: AssistantMessageItem, text: string, sources: Source[], announce = false): Generator<ThreadStreamEvent> {
  if (announce) {
    yield { type: "thread.item.added", item: message };
    yield { type: "thread.item.updated", item_id: message.id, update: { type: "assistant_message.content_part.added", content_index: 0, content: textPart("") } };
  }
  const annotations: Annotation[] = sources.map((source) => ({ type: "annotation", source }));
  for (const [index, annotation] of annotations.entries()) {
    yield { type: "thread.item.updated", item_id: message.id, update: { type: "assistant_message.content_part.annotation_added", content_index: 0, annotation_index: index, annotation } };
  }
  const content = textPart(text, annotations);
  yield { type: "thread.item.updated", item_id: message.id, update: { type: "assistant_message.content_part.done", content_index: 0, content } };
  yield { type: "thread.item.done", item: { ...message, content: [content] } };
}

/** The most of one tool output kept and sent back to the model; the rest is cut with a note. */
export const MAX_TOOL_OUTPUT_CHARS = 100_000;

function boundedOutput(output: string): string {
  return output.length > MAX_TOOL_OUTPUT_CHARS ? `${output.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[… output cut at ${MAX_TOOL_OUTPUT_CHARS} characters]` : output;
}

function completedTask(title: string, outcome: ToolOutcome): Task {
  return { type: "custom", title, status_indicator: "complete", ...(outcome.ok ? {} : { content: `Failed: ${outcome.error}` }) };
}

interface PlannedCall {
  callId: string;
  name: string;
  arguments: string;
  record: SdkToolCallItem;
  tool?: ResolvedTool;
  /** Waits for the user's approval: not run this turn. */
  awaitsApproval?: boolean;
  args?: unknown;
  taskIndex?: number;
  title?: string;
  outcome?: ToolOutcome;
}

/**
 * Runs one round of the model's tool calls: server tools concurrently (their events streamed as
 * they come), each shown as a workflow task; a client tool becomes the turn's last item. A tool
 * that needs approval runs only with the user's decision (`decisions`, by call id); without
 * one the turn ends asking for it.
 */
async function* runToolRound(
  turn: Turn,
  calls: Array<{ callId: string; name: string; arguments: string; record?: SdkToolCallItem }>,
  workflow: WorkflowTracker,
  citations: Source[],
  decisions: Map<string, boolean> = new Map(),
): AsyncGenerator<ThreadStreamEvent, RoundResult> {
  const byName = new Map(turn.tools.map((tool) => [tool.name, tool]));
  const channel = new HandlerChannel();
  const questions: StructuredInputQuestion[] = [];
  let visibleItems = 0;
  let clientCall: { callId: string; name: string; args: Record<string, unknown> } | undefined;

  const round = calls[0]?.callId;
  const planned: PlannedCall[] = calls.map((call) => ({
    ...call,
    // Created now, in call order, so the stored calls keep the model's order.
    record: call.record ?? { id: newId("tool_call"), thread_id: turn.thread.id, created_at: now(), type: "sdk_tool_call", call_id: call.callId, name: call.name, arguments: call.arguments, output: "", round },
  }));
  // Plan every call first, so no handler starts before the plan's events are out: a client that
  // leaves meanwhile then leaves nothing running.
  const starting: ThreadStreamEvent[] = [];
  const runnable: Array<{ call: PlannedCall; run: NonNullable<ResolvedTool["run"]>; args: unknown }> = [];
  for (const call of planned) {
    const tool = byName.get(call.name);
    if (!tool) {
      call.outcome = { ok: false, error: `there is no tool named "${call.name}"` };
      continue;
    }
    call.tool = tool;
    const parsed = parseToolArguments(tool, call.arguments);
    if (!parsed.ok) {
      call.outcome = { ok: false, error: `invalid arguments: ${parsed.error}` };
      continue;
    }
    call.args = parsed.value;
    if (tool.requireApproval && tool.run) {
      const decision = decisions.get(call.callId);
      if (decision === undefined) {
        call.awaitsApproval = true;
        continue;
      }
      if (!decision) {
        call.outcome = { ok: true, output: APPROVAL_DENIED_OUTPUT };
        continue;
      }
    }
    if (!tool.run) {
      if (clientCall) call.outcome = { ok: false, error: "only one browser tool can run at a time: call it again after the first one returned" };
      else clientCall = { callId: call.callId, name: call.name, args: (parsed.value ?? {}) as Record<string, unknown> };
      continue;
    }
    call.title = tool.title(parsed.value);
    const display = tool.display;
    if (display === "workflow") {
      const started = workflow.addTask({ type: "custom", title: call.title, status_indicator: "loading" });
      call.taskIndex = started.index;
      starting.push(...started.events);
    } else if (display === "progress") {
      starting.push({ type: "progress_update", text: call.title });
    }
    runnable.push({ call, run: tool.run, args: parsed.value });
  }
  yield* starting;

  // Each task completes as soon as its own handler settles, not when the slowest one does.
  const running = runnable.map(async ({ call, run, args }) => {
    const context: ToolContext = {
      ...streamingContext({ user: turn.user, thread: { id: turn.thread.id, title: turn.thread.title }, agent: { id: turn.agent.id, name: turn.agent.name }, signal: turn.signal }, channel),
      callId: call.callId,
      cite: (source) => citations.push(source),
      askUser: (inputs) => questions.push(...inputs),
    };
    call.outcome = await run(args, context);
    if (call.taskIndex !== undefined) {
      for (const event of workflow.updateTask(call.taskIndex, completedTask(call.title ?? call.name, call.outcome))) channel.push(event);
    }
  });
  for await (const event of drainWhile(channel, Promise.all(running).then(() => finishOpenWidgets(channel)), turn.signal)) {
    if ((event.type === "thread.item.done" || event.type === "thread.item.added") && event.item.type !== "hidden_context_item") visibleItems++;
    yield event;
  }

  const messages: ModelMessage[] = [];
  const records = new Map<string, SdkToolCallItem>();
  const awaitingApproval = planned.filter((call) => call.awaitsApproval);
  for (const call of planned) {
    if (call.tool && !call.tool.run && call.callId === clientCall?.callId) continue;
    if (call.awaitsApproval) {
      const record: SdkToolCallItem = { ...call.record, output: "", approval: "pending" };
      records.set(record.id, record);
      yield { type: "thread.item.done", item: record };
      continue;
    }
    const outcome = call.outcome ?? { ok: false, error: "the tool did not run" };
    let output = outcome.ok ? toolOutputText(outcome.output) : `Error: ${outcome.error}`;
    if (outcome.ok && questions.length) output = `${outcome.output === undefined ? "" : `${output}\n`}The user was asked; their answers follow as their next message.`;
    output = boundedOutput(output);
    const decision = decisions.get(call.callId);
    const record: SdkToolCallItem = { ...call.record, output, ...(decision === undefined ? {} : { approval: decision ? "approved" : "denied" }) };
    records.set(record.id, record);
    yield { type: "thread.item.done", item: record };
    messages.push({ role: "tool", callId: call.callId, name: call.name, arguments: call.arguments, output, round: call.record.round });
  }

  if (questions.length) {
    yield* workflow.end();
    const item: StructuredInputItem = {
      id: newId("message"),
      thread_id: turn.thread.id,
      created_at: now(),
      type: "structured_input",
      status: "pending",
      inputs: questions.map((question) =>
        question.type === "multiple_choice"
          ? { type: "multiple_choice", id: question.id, question: question.question, options: question.options.map((value) => ({ value })), multiple: question.multiple ?? false }
          : { type: "freeform", id: question.id, question: question.question, ...(question.description ? { description: question.description } : {}) },
      ),
    };
    yield { type: "thread.item.done", item };
    visibleItems++;
  }
  if (awaitingApproval.length) {
    yield* workflow.end();
    yield { type: "thread.item.done", item: approvalItem(turn.thread.id, awaitingApproval.map((call) => ({ callId: call.callId, title: call.tool!.title(call.args), name: call.name, arguments: call.arguments }))) };
    visibleItems++;
  }
  if (clientCall) {
    yield* workflow.end();
    // The thread's newest item: `threads.add_client_tool_output` looks for it there.
    const item: ClientToolCallItem = { id: newId("tool_call"), thread_id: turn.thread.id, created_at: now(), type: "client_tool_call", status: "pending", call_id: clientCall.callId, name: clientCall.name, arguments: clientCall.args };
    yield { type: "thread.item.done", item };
    visibleItems++;
  }
  return { messages, waitsForUser: questions.length > 0 || clientCall !== undefined || awaitingApproval.length > 0, visibleItems, records };
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
