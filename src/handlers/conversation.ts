import { recentHistory } from "../agents/history.ts";
import { respondWithModel, type ThreadState } from "../agents/respond.ts";
import { titleFromText } from "../agents/titles.ts";
import type { AgentConfig } from "../config/schema.ts";
import { chatRefusal, ChatkitError } from "../core/errors.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import { HIDDEN_ITEM_TYPES, type InferenceOptions, type ThreadItem, type UserMessageContent, type UserMessageItem } from "../protocol/items.ts";
import type { RequestParams, UserMessageInput } from "../protocol/requests.ts";
import { threadToWire } from "../protocol/serialize.ts";
import { answerStructuredInput } from "../protocol/structured-input.ts";
import type { AttachmentRow, ThreadRow } from "../store/index.ts";
import { agentOfThread, requireAgent, requireItem, requireThread, type HandlerContext } from "./context.ts";
import { runPipeline } from "./pipeline.ts";
import { newUserMessage } from "../protocol/new-items.ts";

/** The model for this turn: the composer's pick if the agent allows it, else the agent's. */
function chooseModel(agent: AgentConfig, options: InferenceOptions | UserMessageInput["inference_options"]): string {
  const picked = options.model;
  if (!picked || picked === agent.model) return agent.model;
  if (agent.models.includes(picked)) return picked;
  throw chatRefusal("model_not_allowed");
}

/** The tool the user picked in the composer's tool menu; only tools the agent offers there. */
function chooseTool(agent: AgentConfig, options: InferenceOptions | UserMessageInput["inference_options"]): string | undefined {
  const picked = options.tool_choice?.id;
  if (!picked) return undefined;
  if (agent.tools.some((tool) => tool.name === picked && tool.composer)) return picked;
  throw chatRefusal("tool_not_allowed");
}

/** What the composer asked for this turn, checked against the agent. */
function turnOptions(agent: AgentConfig, options: InferenceOptions | UserMessageInput["inference_options"]): TurnOptions {
  return { model: chooseModel(agent, options), forcedTool: chooseTool(agent, options) };
}

/**
 * Builds and stores the user message (before any model is called), linking its attachments,
 * which the caller resolved with `requireReady` before changing anything.
 */
async function storeUserMessage(hc: HandlerContext, thread: ThreadRow, input: UserMessageInput, rows: AttachmentRow[]): Promise<UserMessageItem> {
  const inferenceOptions: InferenceOptions = {};
  if (input.inference_options.model) inferenceOptions.model = input.inference_options.model;
  if (input.inference_options.tool_choice) inferenceOptions.tool_choice = { id: input.inference_options.tool_choice.id };
  const content = input.content.map((part): UserMessageContent =>
    part.type === "input_text"
      ? { type: "input_text", text: part.text }
      : { type: "input_tag", id: part.id, text: part.text, data: part.data, interactive: part.interactive, ...(part.group ? { group: part.group } : {}) },
  );
  const item = newUserMessage(thread.id, content, inferenceOptions, input.quoted_text);
  item.attachments = await hc.services.attachments.attachToMessage(hc.owner, rows, thread.id, item.id, hc.publicBaseUrl);
  await hc.store.items.add(hc.owner, item);
  return item;
}

function inputText(input: UserMessageInput): string {
  return input.content.map((part) => part.text).join(" ");
}

/**
 * Streams the agent's answer to the thread's history through the pipeline. `preface` events
 * precede stream_options (already stored); `lead` events follow it, before the model's turn.
 */
export async function answer(hc: HandlerContext, thread: ThreadRow, options: TurnOptions, preface: ThreadStreamEvent[], lead: ThreadStreamEvent[] = []) {
  return runPipeline({ hc, thread, preface, responder: (state) => modelTurn(hc, thread, state, options, lead) });
}

export interface TurnOptions {
  model: string;
  forcedTool?: string | undefined;
  /** An older item the model's history must reach back to: the question the user just answered. */
  reach?: string | undefined;
}

/** The agent's answer to the thread as it is stored now; `lead` events come first. */
export async function* modelTurn(hc: HandlerContext, thread: ThreadRow, state: ThreadState, options: TurnOptions, lead: ThreadStreamEvent[] = []): AsyncGenerator<ThreadStreamEvent> {
  yield* lead;
  const agent = agentOfThread(hc, thread);
  const { items: history, wholeThread } = await recentHistory((limit) => hc.store.items.history(hc.owner, thread.id, { limit }), {
    maxMessages: agent.historyMessages,
    reach: options.reach,
  });
  if (hc.services.mcp.needsConnecting(agent)) yield { type: "progress_update", text: "Connecting to tools…" };
  const tools = [...hc.services.tools.forAgent(agent), ...(await hc.services.mcp.toolsFor(agent))];
  yield* respondWithModel({
    tools,
    saveImage: (itemId, base64) => hc.services.attachments.saveGeneratedImage(hc.owner, { threadId: thread.id, itemId, base64, publicBaseUrl: hc.publicBaseUrl }),
    thread: state,
    agent,
    model: options.model,
    forcedTool: options.forcedTool,
    runner: hc.services.runners.forAgent(agent),
    history,
    wholeThread,
    user: { id: hc.user.id, email: hc.user.email },
    signal: hc.signal,
    logger: hc.log,
  });
}

export function assertOpen(thread: ThreadRow): void {
  if (thread.status.type !== "active") throw chatRefusal("thread_locked");
}

export async function createThread(hc: HandlerContext, params: RequestParams<"threads.create">): Promise<AsyncIterable<ThreadStreamEvent>> {
  const agent = requireAgent(hc);
  const options = turnOptions(agent, params.input.inference_options);
  const attachments = await hc.services.attachments.requireReady(hc.owner, params.input.attachments);
  const thread = await hc.store.threads.create(hc.owner, agent.id, titleFromText(inputText(params.input)));
  const user = await storeUserMessage(hc, thread, params.input, attachments);
  return answer(hc, thread, options, [
    { type: "thread.created", thread: threadToWire(thread) },
    { type: "thread.item.done", item: user },
  ]);
}

export async function addUserMessage(hc: HandlerContext, params: RequestParams<"threads.add_user_message">): Promise<AsyncIterable<ThreadStreamEvent>> {
  const thread = await requireThread(hc, params.thread_id);
  assertOpen(thread);
  const options = turnOptions(agentOfThread(hc, thread), params.input.inference_options);
  const attachments = await hc.services.attachments.requireReady(hc.owner, params.input.attachments);
  const user = await storeUserMessage(hc, thread, params.input, attachments);
  const preface: ThreadStreamEvent[] = [{ type: "thread.item.done", item: user }];
  // An untitled thread (renamed to nothing) takes its title from this message.
  const title = thread.title === null ? titleFromText(inputText(params.input)) : null;
  const titled = title ? await hc.store.threads.update(hc.owner, thread.id, { title }) : undefined;
  if (titled) preface.push({ type: "thread.updated", thread: threadToWire(titled) });
  return answer(hc, titled ?? thread, options, preface);
}

/**
 * Answers a user message again: every newer item is deleted (and announced as removed, so the
 * client drops them too), then the agent responds to the history up to that message.
 */
export async function retryAfterItem(hc: HandlerContext, params: RequestParams<"threads.retry_after_item">): Promise<AsyncIterable<ThreadStreamEvent>> {
  const thread = await requireThread(hc, params.thread_id);
  const item = await requireItem(hc, thread, params.item_id, "user_message");
  assertOpen(thread);
  const options = turnOptions(agentOfThread(hc, thread), item.inference_options);
  const removed = await hc.store.items.deleteAfter(hc.owner, thread.id, item.id);
  const seenByClient = removed.filter((row) => !(HIDDEN_ITEM_TYPES as readonly string[]).includes(row.type));
  return answer(hc, thread, options, seenByClient.map((row) => ({ type: "thread.item.removed", item_id: row.id })));
}

/**
 * The client ran the pending client tool call (the thread's newest item) and sends its result:
 * the call is completed, stale pending calls are dropped, and the agent continues.
 */
export async function addClientToolOutput(hc: HandlerContext, params: RequestParams<"threads.add_client_tool_output">): Promise<AsyncIterable<ThreadStreamEvent>> {
  const thread = await requireThread(hc, params.thread_id);
  const recent = (await hc.store.items.listJson(hc.owner, thread.id, { limit: 20, order: "desc" })).rows.map((json) => JSON.parse(json) as ThreadItem);
  const newest = recent[0];
  if (newest?.type !== "client_tool_call" || newest.status !== "pending") throw new ChatkitError(409, "no_pending_tool_call");
  assertOpen(thread);
  await hc.store.items.save(hc.owner, { ...newest, status: "completed", output: params.result });
  for (const item of recent.slice(1)) {
    if (item.type === "client_tool_call" && item.status === "pending") await hc.store.items.delete(hc.owner, thread.id, item.id);
  }
  return answer(hc, thread, { model: agentOfThread(hc, thread).model }, []);
}

/** The user answered (or skipped) the assistant's questions: the item is replaced, then the agent continues. */
export async function addStructuredInput(hc: HandlerContext, params: RequestParams<"threads.add_structured_input">): Promise<AsyncIterable<ThreadStreamEvent>> {
  const thread = await requireThread(hc, params.thread_id);
  const item = await requireItem(hc, thread, params.item_id, "structured_input");
  if (item.status !== "pending") throw new ChatkitError(409, "structured_input_not_pending");
  assertOpen(thread);
  const answered = answerStructuredInput(item, params.input);
  await hc.store.items.save(hc.owner, answered);
  return answer(hc, thread, { model: agentOfThread(hc, thread).model, reach: answered.id }, [], [{ type: "thread.item.replaced", item: answered }]);
}
