import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { SdkToolCallItem, Source, StructuredInputItem, Task } from "../protocol/items.ts";
import { newClientToolCall, newSdkToolCall, newStructuredInput } from "../protocol/new-items.ts";
import { drainWhile } from "../tools/channel.ts";
import { finishOpenWidgets, HandlerChannel, streamingContext } from "../tools/context.ts";
import type { StructuredInputQuestion, ToolContext } from "../tools/define.ts";
import { parseToolArguments, type ResolvedTool, type ToolOutcome } from "../tools/run.ts";
import { APPROVAL_DENIED_OUTPUT, approvalItem } from "./approval.ts";
import { toolOutputText } from "./history.ts";
import type { ModelMessage } from "./runner.ts";
import type { ThreadState } from "./turn.ts";
import type { WorkflowTracker } from "./workflow.ts";

/** Who a round of tool calls runs for: what handlers are told, and the tools the model may call. */
export interface RoundScope {
  thread: ThreadState;
  user: { id: string; email: string };
  agent: { id: string; name: string };
  tools: ResolvedTool[];
  signal: AbortSignal;
  /** Counts the tool calls the model made (usage records). */
  meter?: { toolCall(mcp: boolean): void };
}

/** A call the model made; `record` when it was stored before (a call the user has now approved). */
export interface ToolCallRequest {
  callId: string;
  name: string;
  arguments: string;
  record?: SdkToolCallItem;
}

/** What the plan decided for one call, each with the stored record it ends as. */
type PlannedCall = { call: ToolCallRequest; record: SdkToolCallItem } & (
  | { kind: "failed"; error: string }
  | { kind: "denied" }
  | { kind: "awaits_approval"; title: string }
  | { kind: "client"; args: Record<string, unknown> }
  | { kind: "run"; run: NonNullable<ResolvedTool["run"]>; args: unknown; title: string; taskIndex: number | undefined }
);

type RunnableCall = Extract<PlannedCall, { kind: "run" }>;

interface RoundPlan {
  calls: PlannedCall[];
  /** Tasks and progress lines of the calls about to run, in call order. */
  starting: ThreadStreamEvent[];
}

/** What the handlers left: their outcomes by call id and the questions they asked the user. */
interface RoundRun {
  outcomes: Map<string, ToolOutcome>;
  questions: StructuredInputQuestion[];
  visibleItems: number;
}

/** What one round of tool calls left for the model and whether the turn must stop for the user. */
export interface RoundResult {
  messages: ModelMessage[];
  /** A pending client tool call, structured input or approval: the user acts next, not the model. */
  waitsForUser: boolean;
  visibleItems: number;
  /** The stored call items as this round left them, by item id. */
  records: Map<string, SdkToolCallItem>;
}

/** The most of one tool output kept and sent back to the model; the rest is cut with a note. */
export const MAX_TOOL_OUTPUT_CHARS = 100_000;

function boundedOutput(output: string): string {
  return output.length > MAX_TOOL_OUTPUT_CHARS ? `${output.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[… output cut at ${MAX_TOOL_OUTPUT_CHARS} characters]` : output;
}

function completedTask(title: string, outcome: ToolOutcome): Task {
  return { type: "custom", title, status_indicator: "complete", ...(outcome.ok ? {} : { content: `Failed: ${outcome.error}` }) };
}

/**
 * Runs one round of the model's tool calls: server tools concurrently (their events streamed as
 * they come), each shown as a workflow task; a client tool becomes the turn's last item. A tool
 * that needs approval runs only with the user's decision (`decisions`, by call id); without
 * one the turn ends asking for it.
 */
export async function* runToolRound(
  scope: RoundScope,
  calls: ToolCallRequest[],
  workflow: WorkflowTracker,
  citations: Source[],
  decisions: Map<string, boolean> = new Map(),
): AsyncGenerator<ThreadStreamEvent, RoundResult> {
  // Every call is planned first, so no handler starts before the plan's events are out: a
  // client that leaves meanwhile then leaves nothing running.
  const plan = planRound(scope, calls, workflow, decisions);
  yield* plan.starting;
  const run = yield* runPlannedCalls(scope, plan, workflow, citations);
  return yield* recordRound(scope, plan, run, workflow, decisions);
}

/** Decides each call's fate (unknown tool, bad arguments, approval, browser, run) and opens the tasks of those that run. */
function planRound(scope: RoundScope, calls: ToolCallRequest[], workflow: WorkflowTracker, decisions: Map<string, boolean>): RoundPlan {
  const byName = new Map(scope.tools.map((tool) => [tool.name, tool]));
  const round = calls[0]?.callId;
  const starting: ThreadStreamEvent[] = [];
  let clientCall = false;
  // Counted in the turn the model made them; calls resumed after an approval were counted then.
  for (const call of calls) if (!call.record) scope.meter?.toolCall(byName.get(call.name)?.mcpServer !== undefined);
  const planned = calls.map((call): PlannedCall => {
    // Created now, in call order, so the stored calls keep the model's order.
    const record = call.record ?? newSdkToolCall(scope.thread.id, { call_id: call.callId, name: call.name, arguments: call.arguments, round });
    const tool = byName.get(call.name);
    if (!tool) return { call, record, kind: "failed", error: `there is no tool named "${call.name}"` };
    const parsed = parseToolArguments(tool, call.arguments);
    if (!parsed.ok) return { call, record, kind: "failed", error: `invalid arguments: ${parsed.error}` };
    if (tool.requireApproval && tool.run) {
      const decision = decisions.get(call.callId);
      if (decision === undefined) return { call, record, kind: "awaits_approval", title: tool.title(parsed.value) };
      if (!decision) return { call, record, kind: "denied" };
    }
    if (!tool.run) {
      if (clientCall) return { call, record, kind: "failed", error: "only one browser tool can run at a time: call it again after the first one returned" };
      clientCall = true;
      return { call, record, kind: "client", args: (parsed.value ?? {}) as Record<string, unknown> };
    }
    const title = tool.title(parsed.value);
    let taskIndex: number | undefined;
    if (tool.display === "workflow") {
      const started = workflow.addTask({ type: "custom", title, status_indicator: "loading" });
      taskIndex = started.index;
      starting.push(...started.events);
    } else if (tool.display === "progress") {
      starting.push({ type: "progress_update", text: title });
    }
    return { call, record, kind: "run", run: tool.run, args: parsed.value, title, taskIndex };
  });
  return { calls: planned, starting };
}

/** Runs the planned handlers concurrently, streaming what they show; each task completes as soon as its own handler settles. */
async function* runPlannedCalls(scope: RoundScope, plan: RoundPlan, workflow: WorkflowTracker, citations: Source[]): AsyncGenerator<ThreadStreamEvent, RoundRun> {
  const channel = new HandlerChannel();
  const outcomes = new Map<string, ToolOutcome>();
  const questions: StructuredInputQuestion[] = [];
  const runScope = { user: scope.user, thread: { id: scope.thread.id, title: scope.thread.title }, agent: scope.agent, signal: scope.signal };
  const running = plan.calls
    .filter((planned): planned is RunnableCall => planned.kind === "run")
    .map(async (planned) => {
      const context: ToolContext = {
        ...streamingContext(runScope, channel),
        callId: planned.call.callId,
        cite: (source) => citations.push(source),
        askUser: (inputs) => questions.push(...inputs),
      };
      const outcome = await planned.run(planned.args, context);
      outcomes.set(planned.call.callId, outcome);
      if (planned.taskIndex !== undefined) {
        for (const event of workflow.updateTask(planned.taskIndex, completedTask(planned.title, outcome))) channel.push(event);
      }
    });
  let visibleItems = 0;
  for await (const event of drainWhile(channel, Promise.all(running).then(() => finishOpenWidgets(channel)), scope.signal)) {
    if ((event.type === "thread.item.done" || event.type === "thread.item.added") && event.item.type !== "hidden_context_item") visibleItems++;
    yield event;
  }
  return { outcomes, questions, visibleItems };
}

/** Stores each call with its output, then what the user must act on: questions, approvals, a browser tool. */
function* recordRound(scope: RoundScope, plan: RoundPlan, run: RoundRun, workflow: WorkflowTracker, decisions: Map<string, boolean>): Generator<ThreadStreamEvent, RoundResult> {
  const threadId = scope.thread.id;
  const messages: ModelMessage[] = [];
  const records = new Map<string, SdkToolCallItem>();
  let visibleItems = run.visibleItems;
  const asked = run.questions.length > 0;
  for (const planned of plan.calls) {
    if (planned.kind === "client") continue;
    if (planned.kind === "awaits_approval") {
      const record: SdkToolCallItem = { ...planned.record, output: "", approval: "pending" };
      records.set(record.id, record);
      yield { type: "thread.item.done", item: record };
      continue;
    }
    const outcome: ToolOutcome =
      planned.kind === "failed"
        ? { ok: false, error: planned.error }
        : planned.kind === "denied"
          ? { ok: true, output: APPROVAL_DENIED_OUTPUT }
          : (run.outcomes.get(planned.call.callId) ?? { ok: false, error: "the tool did not run" });
    let output = outcome.ok ? toolOutputText(outcome.output) : `Error: ${outcome.error}`;
    if (outcome.ok && asked) output = `${outcome.output === undefined ? "" : `${output}\n`}The user was asked; their answers follow as their next message.`;
    output = boundedOutput(output);
    const decision = decisions.get(planned.call.callId);
    const record: SdkToolCallItem = { ...planned.record, output, ...(decision === undefined ? {} : { approval: decision ? "approved" : "denied" }) };
    records.set(record.id, record);
    yield { type: "thread.item.done", item: record };
    messages.push({ role: "tool", callId: planned.call.callId, name: planned.call.name, arguments: planned.call.arguments, output, round: planned.record.round });
  }

  if (asked) {
    yield* workflow.end();
    yield { type: "thread.item.done", item: structuredInputItem(threadId, run.questions) };
    visibleItems++;
  }
  const awaitingApproval = plan.calls.filter((planned): planned is Extract<PlannedCall, { kind: "awaits_approval" }> => planned.kind === "awaits_approval");
  if (awaitingApproval.length) {
    yield* workflow.end();
    yield { type: "thread.item.done", item: approvalItem(threadId, awaitingApproval.map(({ call, title }) => ({ callId: call.callId, title, name: call.name, arguments: call.arguments }))) };
    visibleItems++;
  }
  const clientCall = plan.calls.find((planned): planned is Extract<PlannedCall, { kind: "client" }> => planned.kind === "client");
  if (clientCall) {
    yield* workflow.end();
    // The thread's newest item: `threads.add_client_tool_output` looks for it there.
    yield { type: "thread.item.done", item: newClientToolCall(threadId, { call_id: clientCall.call.callId, name: clientCall.call.name, arguments: clientCall.args }) };
    visibleItems++;
  }
  return { messages, waitsForUser: asked || clientCall !== undefined || awaitingApproval.length > 0, visibleItems, records };
}

/** The questions of `askUser` as a pending `structured_input` item. */
export function structuredInputItem(threadId: string, questions: StructuredInputQuestion[]): StructuredInputItem {
  return newStructuredInput(
    threadId,
    questions.map((question) =>
      question.type === "multiple_choice"
        ? { type: "multiple_choice", id: question.id, question: question.question, options: question.options.map((value) => ({ value })), multiple: question.multiple ?? false }
        : { type: "freeform", id: question.id, question: question.question, ...(question.description ? { description: question.description } : {}) },
    ),
  );
}
